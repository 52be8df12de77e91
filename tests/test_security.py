"""Web hardening: headers on every response, session lifetimes, passwords, outages."""
import pytest
from freezegun import freeze_time

from consent_center.accounts.service import AccountError, check_password_policy

from .conftest import PASSWORD


@pytest.mark.parametrize("path", ["/login", "/healthz", "/nowhere", "/space/preferences"])
def test_every_response_carries_the_security_headers(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"]
    assert "Strict-Transport-Security" not in headers


def test_hsts_only_over_https(client):
    response = client.get("/login", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_session_cookie_is_httponly_and_lax(client, auth, customer):
    cookie = auth.login(customer.email).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.settings(SESSION_COOKIE_SECURE=True)
def test_session_cookie_is_secure_when_configured(client, auth, customer):
    cookie = client.get("/login", base_url="https://localhost").headers["Set-Cookie"]
    assert "Secure" in cookie


def test_personal_pages_are_not_cached(client, auth, customer):
    auth.login(customer.email)
    assert client.get("/space/preferences").headers["Cache-Control"] == "no-store"


def test_an_idle_session_expires(client, auth, customer):
    with freeze_time("2036-01-01 09:00:00") as frozen:
        auth.login(customer.email)
        frozen.tick(29 * 60)
        assert client.get("/space/preferences").status_code == 200
        frozen.tick(29 * 60)  # active again within the idle limit
        assert client.get("/space/preferences").status_code == 200
        frozen.tick(31 * 60)
        assert client.get("/space/preferences").status_code == 302


def test_a_session_expires_after_the_absolute_limit_even_when_active(client, auth, customer):
    with freeze_time("2036-01-01 09:00:00") as frozen:
        auth.login(customer.email)
        for _ in range(12 * 2):
            frozen.tick(29 * 60)
            client.get("/space/history")
        frozen.tick(29 * 60)
        assert client.get("/space/preferences").status_code == 302


@pytest.mark.parametrize("password", ["short", "password123456", "azertyuiop", "camille@example.com1"])
def test_weak_passwords_are_refused(password):
    with pytest.raises(AccountError):
        check_password_policy(password, email="camille@example.com")


def test_a_strong_password_is_accepted():
    check_password_policy(PASSWORD, email="camille@example.com")


def test_user_create_refuses_a_common_password(runner):
    result = runner.invoke(args=["user", "create", "--email", "x@example.com", "--password", "password1234"])
    assert result.exit_code != 0
    assert "too common" in result.output


def test_pages_answer_503_when_the_database_goes_away(tmp_path):
    import shutil

    from consent_center import create_app
    from consent_center.accounts.service import create_account
    from consent_center.extensions import db, make_engine
    from consent_center.ledger import Actor
    from consent_center.migrate import upgrade
    from consent_center.models import Role

    from .conftest import IsolatedClient, form_post

    folder = tmp_path / "db"
    folder.mkdir()
    url = f"sqlite:///{folder}/cc.sqlite3"
    upgrade(make_engine(url))
    app = create_app({"TESTING": True, "DATABASE_URL": url})
    app.test_client_class = IsolatedClient
    with app.app_context():
        create_account(db.session, email="c@example.com", password=PASSWORD, role=Role.CUSTOMER,
                       actor=Actor.system())
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    assert form_post(client, "/login", {"email": "c@example.com", "password": PASSWORD}).status_code == 302
    shutil.rmtree(folder)
    db.engine.dispose()
    response = client.get("/space/preferences")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert client.get("/readyz").status_code == 503
