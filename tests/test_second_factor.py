"""Optional TOTP second factor for staff."""
import re

import pyotp
from freezegun import freeze_time

from consent_center.clock import utcnow
from consent_center.models import Role

from .conftest import account_by_email, form_post


def code(secret: str, seconds: int = 0) -> str:
    return pyotp.TOTP(secret).at(utcnow().timestamp() + seconds)


def enroll(client, auth, make_account) -> str:
    make_account("admin@example.com", role=Role.ADMIN, locale="en")
    auth.login("admin@example.com")
    page = client.get("/staff/second-factor").get_data(as_text=True)
    secret = re.search(r"<code>([A-Z2-7]+)</code>", page).group(1)
    assert "data:image/svg+xml" in page
    response = form_post(client, "/staff/second-factor", {"code": code(secret)})
    assert response.status_code == 302
    auth.logout()
    return secret


def test_staff_enrol_and_then_need_a_code_to_log_in(client, auth, make_account, session):
    with freeze_time("2036-03-01 10:00:00") as frozen:
        secret = enroll(client, auth, make_account)
        assert account_by_email(session, "admin@example.com").totp_secret == secret
        frozen.tick(60)
        response = auth.login("admin@example.com")
        assert response.location == "/login/second-factor"
        assert client.get("/staff").status_code == 302  # not logged in yet
        wrong = form_post(client, "/login/second-factor", {"code": "000000"})
        assert wrong.status_code == 401
        right = form_post(client, "/login/second-factor", {"code": code(secret)})
        assert right.status_code == 302 and right.location == "/staff"
        assert client.get("/staff").status_code == 200


def test_a_code_cannot_be_replayed(client, auth, make_account):
    with freeze_time("2036-03-01 10:00:00") as frozen:
        secret = enroll(client, auth, make_account)
        frozen.tick(40)
        used = code(secret)
        auth.login("admin@example.com")
        assert form_post(client, "/login/second-factor", {"code": used}).status_code == 302
        auth.logout()
        auth.login("admin@example.com")
        assert form_post(client, "/login/second-factor", {"code": used}).status_code == 401


def test_the_halfway_login_expires(client, auth, make_account):
    with freeze_time("2036-03-01 10:00:00") as frozen:
        secret = enroll(client, auth, make_account)
        frozen.tick(60)
        auth.login("admin@example.com")
        frozen.tick(301)
        response = form_post(client, "/login/second-factor", {"code": code(secret)})
        assert response.status_code == 302 and response.location == "/login"
        assert client.get("/staff").status_code == 302


def test_customers_have_no_second_factor_page(client, auth, customer):
    auth.login(customer.email)
    assert client.get("/staff/second-factor").status_code == 403


def test_reset_second_factor_from_the_command_line(client, auth, make_account, runner, session):
    with freeze_time("2036-03-01 10:00:00"):
        enroll(client, auth, make_account)
    result = runner.invoke(args=["user", "reset-second-factor", "--email", "admin@example.com"])
    assert result.exit_code == 0, result.output
    session.rollback()
    assert account_by_email(session, "admin@example.com").totp_secret is None
    assert auth.login("admin@example.com").location == "/staff"


def test_provisioning_uri_names_the_account_and_issuer(app, make_account):
    from consent_center.accounts.second_factor import new_secret, provisioning_uri

    account = make_account("admin@example.com", role=Role.ADMIN)
    uri = provisioning_uri(account, new_secret())
    assert uri.startswith("otpauth://totp/") and "admin%40example.com" in uri
    assert "issuer=Consent%20Center" in uri
