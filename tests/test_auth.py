"""Login: argon2, one message for every failure, throttling, local redirects only."""
import re

import pytest

from consent_center.models import Role

from .conftest import PASSWORD, account_by_email, csrf_from, form_post


def failure_message(response):
    body = response.get_data(as_text=True)
    return re.search(r'<p class="flash flash-error">([^<]+)</p>', body).group(1)


def test_login_lands_on_the_preferences_page(client, auth, customer):
    response = auth.login(customer.email)
    assert response.status_code == 302
    assert response.location == "/space/preferences"
    assert client.get("/space/preferences").status_code == 200


def test_password_is_stored_as_argon2(session, customer):
    stored = account_by_email(session, customer.email).password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_unknown_email_and_wrong_password_get_the_same_answer(client, auth, customer):
    wrong_password = auth.login(customer.email, "not the password")
    unknown_email = auth.login("nobody@example.com", "not the password")
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert failure_message(wrong_password) == failure_message(unknown_email)


def test_login_is_throttled_after_repeated_failures(client, auth, customer):
    for _ in range(5):
        assert auth.login(customer.email, "wrong password!").status_code == 401
    throttled = auth.login(customer.email)  # even the right password now waits
    assert throttled.status_code == 429
    assert client.get("/space/preferences").status_code == 302


def test_throttle_window_passes(client, auth, customer):
    from freezegun import freeze_time

    # In the future: the memory store's cleanup thread reads the real clock
    # (freezegun leaves threads alone) and must not expire frozen entries.
    with freeze_time("2036-05-01 10:00:00") as frozen:
        for _ in range(5):
            auth.login(customer.email, "wrong password!")
        assert auth.login(customer.email).status_code == 429
        frozen.tick(16 * 60)
        assert auth.login(customer.email).status_code == 302


# Spellings that e-mail normalisation maps to camille@example.com (the customer's account).
SPELLINGS = ["camille@ｅxample.com", "Camille@Example.COM", "camille@ＥＸＡＭＰＬＥ.com", " CAMILLE@example.com "]


def test_the_throttle_counts_the_account_not_its_spellings(client, auth, customer):
    for spelling in [customer.email, *SPELLINGS]:
        assert auth.login(spelling, "wrong password!").status_code == 401
    for spelling in [customer.email, *SPELLINGS]:
        assert auth.login(spelling).status_code == 429  # the right password, whatever the spelling
    assert client.get("/space/preferences").status_code == 302


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_another_spelling_does_not_open_a_locked_account(client, auth, customer, spelling):
    assert auth.login(spelling).status_code == 302  # the same account, spelt otherwise
    auth.logout()
    for _ in range(5):
        assert auth.login(customer.email, "wrong password!").status_code == 401
    assert auth.login(spelling).status_code == 429
    assert client.get("/space/preferences").status_code == 302


def test_the_throttle_folds_what_is_not_an_address(auth):
    # Not addresses (no domain): counted in their NFKC, case-folded form.
    for typed in ["ｎobody", "NOBODY", "Nobody", "ｎｏｂｏｄｙ", "nobody"]:
        assert auth.login(typed, "wrong password!").status_code in (400, 401)
    assert auth.login("nobody").status_code == 429


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"])
def test_login_never_redirects_off_site(client, customer, target):
    response = form_post(client, "/login", {"email": customer.email, "password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert response.location == "/space/preferences"


def test_login_follows_a_local_next(client, customer):
    response = form_post(client, "/login", {"email": customer.email, "password": PASSWORD,
                                            "next": "/space/history"})
    assert response.location == "/space/history"


def test_session_is_renewed_at_login(client, auth, customer):
    client.get("/login")
    with client.session_transaction() as before:
        before["planted"] = "by an attacker"
    auth.login(customer.email)
    with client.session_transaction() as after:
        assert "planted" not in after


def test_logout_is_a_post(client, auth, customer):
    auth.login(customer.email)
    assert client.get("/logout").status_code == 405
    assert client.get("/space/preferences").status_code == 200
    response = auth.logout()
    assert response.status_code == 302
    assert client.get("/space/preferences").status_code == 302


def test_logout_without_csrf_token_is_refused(client, auth, customer):
    auth.login(customer.email)
    assert client.post("/logout").status_code == 400
    assert client.get("/space/preferences").status_code == 200


def test_inactive_account_cannot_log_in(client, auth, session, customer):
    account_by_email(session, customer.email).active = False
    session.commit()
    assert auth.login(customer.email).status_code == 401


def test_staff_land_on_the_staff_page_and_cannot_use_the_space(client, auth, make_account):
    make_account("auditor@example.com", role=Role.AUDITOR)
    response = auth.login("auditor@example.com")
    assert response.location == "/staff"
    assert client.get("/space/preferences").status_code == 403


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/space/preferences")
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")


def test_login_form_without_csrf_token_is_refused(client, customer):
    response = client.post("/login", data={"email": customer.email, "password": PASSWORD})
    assert response.status_code == 400
