"""Invitations and forgotten passwords: links that work once, e-mails that arrive."""
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center.accounts import passwords
from consent_center import tokens
from consent_center.models import OutboxMessage, Role
from consent_center.tokens import TokenError

from .conftest import PASSWORD, account_by_email, csrf_from, form_post
from .mail_fixtures import deliver

NEW_PASSWORD = "a brand new passphrase"


def choose_password(client, link, password=NEW_PASSWORD, confirm=None):
    page = client.get(link)
    assert page.status_code == 200
    return client.post(link, data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                   "password": password, "confirm": confirm or password},
                       headers={"Accept-Language": "en"})


def outbox(session):
    session.rollback()
    return session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_user_create_without_password_sends_an_invitation(client, auth, session, runner, mailbox):
    result = runner.invoke(args=["user", "create", "--email", "Noor@Example.com", "--name", "Noor Jansen",
                                 "--locale", "nl"])
    assert result.exit_code == 0, result.output
    assert "Invitation queued" in result.output
    assert account_by_email(session, "noor@example.com").password_hash is None
    deliver(runner)
    received = mailbox.only("noor@example.com")
    assert received.message["Subject"] == "Uw account bij Consent Center: kies uw wachtwoord"
    assert received.message["To"] == "Noor Jansen <noor@example.com>"
    assert received.message["Content-Language"] == "nl"
    assert "noor@example.com" in received.text
    link = received.link()
    assert link.startswith("/invitation/")

    assert client.get(link).headers["Referrer-Policy"] == "no-referrer"
    response = choose_password(client, link)
    assert response.status_code == 302 and response.location == "/login"
    assert auth.login("noor@example.com", NEW_PASSWORD).location == "/space/preferences"
    assert client.get(link).status_code == 404  # used


def test_user_create_with_a_password_sends_nothing(session, runner):
    result = runner.invoke(args=["user", "create", "--email", "staff@example.com", "--password", PASSWORD,
                                 "--role", "support"])
    assert result.exit_code == 0 and "Invitation" not in result.output
    assert outbox(session) == []


def test_an_invitation_link_expires_after_two_weeks(client, session, runner, make_account):
    with freeze_time("2026-06-01 12:00:00"):
        account = make_account("late@example.com", password=None)
        link = f"/invitation/{tokens.account_token('invitation', account)}"
    with freeze_time("2026-06-15 11:59:00"):
        assert client.get(link).status_code == 200
    with freeze_time("2026-06-15 12:01:00"):
        assert client.get(link).status_code == 404


def test_forgotten_password_answers_the_same_for_known_and_unknown_addresses(app, session, customer):
    answers = []
    for email in (customer.email, "nobody@example.com"):
        response = form_post(app.test_client(), "/password/forgot", {"email": email})
        answers.append((response.status_code, response.location))
    assert answers[0] == answers[1] == (302, "/password/forgot/sent")
    assert [m.recipient for m in outbox(session)] == [customer.email]


def test_a_reset_link_sets_a_new_password_once(client, auth, session, runner, mailbox, customer):
    form_post(client, "/password/forgot", {"email": customer.email})
    deliver(runner)
    received = mailbox.only(customer.email)
    assert received.message["Subject"] == "Choose a new password for your Consent Center account"
    link = received.link()
    assert link.startswith("/password/reset/")
    assert choose_password(client, link).location == "/login"
    assert auth.login(customer.email, PASSWORD).status_code == 401
    assert auth.login(customer.email, NEW_PASSWORD).status_code == 302
    auth.logout()
    assert client.get(link).status_code == 404
    assert client.post(link, data={"password": "x" * 12, "confirm": "x" * 12}).status_code in (400, 404)
    assert auth.login(customer.email, NEW_PASSWORD).status_code == 302


def test_using_one_reset_link_kills_the_others(session, customer):
    account = account_by_email(session, customer.email)
    first = tokens.account_token("password_reset", account)
    second = tokens.account_token("password_reset", account)
    passwords.set_password(session, passwords.account_for(session, "password_reset", second), NEW_PASSWORD)
    session.commit()
    with pytest.raises(TokenError, match="used"):
        passwords.account_for(session, "password_reset", first)


def test_a_reset_link_expires_after_two_hours(client, session, customer):
    with freeze_time("2026-06-01 12:00:00") as frozen:
        link = f"/password/reset/{tokens.account_token('password_reset', account_by_email(session, customer.email))}"
        frozen.tick(timedelta(minutes=119))
        assert client.get(link).status_code == 200
        frozen.tick(timedelta(minutes=2))
        assert client.get(link).status_code == 404


def test_an_invitation_token_cannot_reset_and_a_reset_token_cannot_invite(client, session, customer):
    account = account_by_email(session, customer.email)
    reset, invitation = tokens.account_token("password_reset", account), tokens.account_token("invitation", account)
    assert client.get(f"/invitation/{reset}").status_code == 404
    assert client.get(f"/password/reset/{invitation}").status_code == 404


@pytest.mark.parametrize("password, confirm, message", [
    ("short", "short", "10 to 256 characters"),
    (NEW_PASSWORD, NEW_PASSWORD + "!", "not the same"),
    ("password1234", "password1234", "too common or too easy to guess"),
])
def test_a_bad_new_password_is_refused_with_the_form_kept(client, auth, session, customer, password, confirm,
                                                          message):
    link = f"/password/reset/{tokens.account_token('password_reset', account_by_email(session, customer.email))}"
    response = choose_password(client, link, password, confirm)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert auth.login(customer.email, PASSWORD).status_code == 302


def test_an_inactive_account_gets_no_reset_email(client, session, customer):
    account_by_email(session, customer.email).active = False
    session.commit()
    form_post(client, "/password/forgot", {"email": customer.email})
    assert outbox(session) == []


def test_an_invitation_delivered_after_the_password_was_set_is_not_sent(session, runner, mailbox, make_account):
    account = make_account("quick@example.com", password=None)
    passwords.invite(session, account)
    session.commit()
    passwords.set_password(session, account_by_email(session, "quick@example.com"), NEW_PASSWORD)
    session.commit()
    assert "dead 1" in deliver(runner).output
    assert mailbox.messages == []
    assert "set its password" in outbox(session)[0].last_error


def test_staff_can_reset_their_password_too(client, session, runner, mailbox, make_account):
    make_account("auditor@example.com", role=Role.AUDITOR, locale="fr")
    form_post(client, "/password/forgot", {"email": "auditor@example.com"})
    deliver(runner)
    assert mailbox.only("auditor@example.com").message["Content-Language"] == "fr"


def test_the_login_page_links_to_forgotten_password_and_the_public_pages(client):
    html = client.get("/login").get_data(as_text=True)
    for path in ("/password/forgot", "/manage", "/subscribe"):
        assert f'href="{path}"' in html
