"""Admins create accounts (with the invitation e-mail), disable them, and manage API keys."""
import re

import pytest
from sqlalchemy import select

from consent_center.accounts.api_clients import key_hash
from consent_center.models import Account, ApiClient, OutboxMessage, Role, StaffAction

from .api_fixtures import ApiClient as Caller
from .conftest import PASSWORD, account_by_email, form_post


@pytest.fixture
def admin(make_account, auth):
    account = make_account("ada@example.com", role=Role.ADMIN, locale="en")
    auth.login("ada@example.com")
    return account


def test_a_customer_account_is_created_with_its_subject_and_the_invitation_email(client, session, admin):
    response = form_post(client, "/admin/accounts", {"email": "Noor@Example.com", "name": "Noor Janssens",
                                                     "role": "customer", "locale": "nl"})
    assert response.status_code == 302
    session.rollback()
    account = account_by_email(session, "noor@example.com")
    assert account.subject is not None and account.password_hash is None
    message = session.scalars(select(OutboxMessage)).one()
    assert (message.topic, message.recipient, message.payload["locale"]) == ("invitation", "noor@example.com", "nl")
    assert session.scalars(select(StaffAction)).one().action == "account.created"


def test_a_taken_address_is_refused_and_the_form_kept(client, session, admin):
    response = form_post(client, "/admin/accounts", {"email": "ada@example.com", "name": "Other Ada",
                                                     "role": "support", "locale": "fr"})
    assert response.status_code == 400
    assert "Other Ada" in response.get_data(as_text=True)


def test_a_disabled_account_can_no_longer_log_in(client, auth, session, admin, make_account):
    sam = make_account("sam@example.com", role=Role.SUPPORT)
    response = form_post(client, "/admin/accounts", {}, action=f"/admin/accounts/{sam.id}/disable")
    assert response.status_code == 302
    session.rollback()
    assert not account_by_email(session, "sam@example.com").active
    auth.logout()
    auth.login("sam@example.com", PASSWORD)
    assert "/login" in client.get("/admin/").headers["Location"]


def test_an_admin_cannot_disable_their_own_account(client, session, admin):
    form_post(client, "/admin/accounts", {}, action=f"/admin/accounts/{admin.id}/disable")
    session.rollback()
    assert account_by_email(session, "ada@example.com").active


def test_an_api_key_is_shown_once_works_and_is_revoked(client, session, admin):
    response = form_post(client, "/admin/keys", {"name": "Mailer", "scopes": ["consent:read"]})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    key = re.search(r"(cc_[A-Za-z0-9_-]{40,})", response.get_data(as_text=True)).group(1)
    session.rollback()
    stored = session.scalars(select(ApiClient)).one()
    assert stored.key_hash == key_hash(key) and stored.scopes == ["consent:read"]
    assert key not in client.get("/admin/keys").get_data(as_text=True)
    caller = Caller(app_client(client), key)
    assert caller.get("/check?channel=email&email=a@example.com").status_code == 200
    response = form_post(client, "/admin/keys", {}, action=f"/admin/keys/{stored.id}/revoke")
    assert response.status_code == 302
    session.rollback()
    assert session.scalars(select(ApiClient)).one().revoked_at is not None
    assert [a.action for a in session.scalars(select(StaffAction).order_by(StaffAction.id))] == \
        ["api_key.created", "api_key.revoked"]


def app_client(client):
    return client.application.test_client()


def test_a_key_without_scope_is_refused(client, admin):
    response = form_post(client, "/admin/keys", {"name": "Mailer"})
    assert response.status_code == 400
    assert "Give at least one scope." in response.get_data(as_text=True)
