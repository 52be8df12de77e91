"""Sessions end on the server: a copied cookie dies with logout, a new password,
disabling, a role change, or "log out everywhere" (issue 21, item 4)."""
import pytest

from consent_center import tokens
from consent_center.models import Role

from .conftest import PASSWORD, AuthActions, account_by_email, form_post

NEW_PASSWORD = "a brand new passphrase"


def copy_of(client, app):
    """A second browser holding a copy of ``client``'s session cookie."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    other = app.test_client()
    other.set_cookie(cookie.key, cookie.value)
    return other


def is_logged_out(client, page="/space/preferences"):
    response = client.get(page)
    return response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_cookie_copied_before_logout_no_longer_opens_the_space(app, client, auth, customer):
    auth.login(customer.email)
    stolen = copy_of(client, app)
    assert stolen.get("/space/preferences").status_code == 200
    auth.logout()
    assert is_logged_out(stolen)
    assert stolen.post("/space/preferences", data={}).status_code in (302, 400)
    assert is_logged_out(stolen)


def test_a_password_reset_in_another_session_ends_the_copied_one(app, client, auth, session, customer):
    auth.login(customer.email)
    stolen = copy_of(client, app)
    link = f"/password/reset/{tokens.account_token('password_reset', account_by_email(session, customer.email))}"
    elsewhere = app.test_client()
    response = form_post(elsewhere, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert is_logged_out(stolen)
    assert is_logged_out(client)
    assert AuthActions(elsewhere).login(customer.email, NEW_PASSWORD).status_code == 302
    assert elsewhere.get("/space/preferences").status_code == 200


def test_an_account_disabled_by_an_admin_is_logged_out(app, client, auth, session, make_account, customer):
    auth.login(customer.email)
    stolen = copy_of(client, app)
    admin = app.test_client()
    make_account("ada@example.com", role=Role.ADMIN, locale="en")
    AuthActions(admin).login("ada@example.com")
    response = form_post(admin, "/admin/accounts", {}, action=f"/admin/accounts/{customer.id}/disable")
    assert response.status_code == 302
    assert is_logged_out(stolen)
    session.rollback()
    assert account_by_email(session, customer.email).session_version > 0


def test_a_role_change_ends_the_sessions_of_the_account(app, client, auth, session, runner, make_account):
    make_account("sam@example.com", role=Role.SUPPORT, locale="en")
    auth.login("sam@example.com")
    stolen = copy_of(client, app)
    assert stolen.get("/admin/").status_code == 200
    result = runner.invoke(args=["user", "set-role", "--email", "sam@example.com", "--role", "auditor"])
    assert result.exit_code == 0, result.output
    assert is_logged_out(stolen, "/staff")
    assert is_logged_out(client, "/staff")
    assert auth.login("sam@example.com").status_code == 302
    assert client.get("/audit/").status_code == 200
    assert client.get("/admin/").status_code == 403


def test_log_out_everywhere_ends_the_other_sessions_and_a_fresh_login_works(app, client, auth, customer):
    auth.login(customer.email)
    other = app.test_client()
    AuthActions(other).login(customer.email)
    assert other.get("/space/preferences").status_code == 200
    page = client.get("/space/preferences").get_data(as_text=True)
    assert 'action="/logout/everywhere"' in page
    response = form_post(client, "/space/preferences", {}, action="/logout/everywhere")
    assert response.status_code == 302
    assert is_logged_out(other)
    assert is_logged_out(client)
    assert AuthActions(other).login(customer.email).status_code == 302
    assert other.get("/space/preferences").status_code == 200


def test_log_out_everywhere_needs_the_csrf_token(app, client, auth, customer):
    auth.login(customer.email)
    other = app.test_client()
    AuthActions(other).login(customer.email)
    assert client.post("/logout/everywhere", data={}).status_code == 400
    assert other.get("/space/preferences").status_code == 200


def test_staff_home_offers_log_out_everywhere(client, auth, make_account):
    make_account("sam@example.com", role=Role.SUPPORT, locale="en")
    auth.login("sam@example.com")
    assert 'action="/logout/everywhere"' in client.get("/staff").get_data(as_text=True)


def test_the_session_setting_a_new_password_stays_and_the_others_end(app, client, auth, session, customer):
    auth.login(customer.email)
    stolen = copy_of(client, app)
    link = f"/password/reset/{tokens.account_token('password_reset', account_by_email(session, customer.email))}"
    response = form_post(client, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert client.get("/space/preferences").status_code == 200
    assert is_logged_out(stolen)


def test_a_customer_account_does_not_change_role(runner, customer):
    result = runner.invoke(args=["user", "set-role", "--email", customer.email, "--role", "admin"])
    assert result.exit_code != 0 and "customer" in result.output


def test_a_second_factor_reset_on_the_server_ends_the_sessions_of_the_account(app, client, auth, runner, make_account):
    # The phone was lost: whoever holds it, or a cookie opened with it, is out.
    make_account("sam@example.com", role=Role.SUPPORT, locale="en")
    auth.login("sam@example.com")
    stolen = copy_of(client, app)
    assert stolen.get("/admin/").status_code == 200
    result = runner.invoke(args=["user", "reset-second-factor", "--email", "sam@example.com"])
    assert result.exit_code == 0, result.output
    assert is_logged_out(stolen, "/staff")
    assert is_logged_out(client, "/staff")
