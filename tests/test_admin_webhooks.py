"""Admins register and disable webhook receivers from the back office."""
import re

import pytest
from sqlalchemy import select

from consent_center.ledger import Actor, record_change
from consent_center.models import OutboxMessage, Role, Source, StaffAction, WebhookEndpoint

from .conftest import csrf_from, form_post
from .test_webhooks import Receiver, free_port

URL = "https://crm.example.com/hooks/consent"


@pytest.fixture
def admin(make_account, auth):
    account = make_account("ada@example.com", role=Role.ADMIN, locale="en")
    auth.login("ada@example.com")
    return account


def endpoints(session):
    session.rollback()
    return session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all()


def actions(session):
    session.rollback()
    return [(a.action, a.target, a.details) for a in session.scalars(select(StaffAction).order_by(StaffAction.id))]


def test_an_admin_registers_a_webhook_and_sees_its_secret_once(client, session, admin):
    assert "No webhook yet." in client.get("/admin/webhooks").get_data(as_text=True)
    response = form_post(client, "/admin/webhooks", {"url": URL, "description": "CRM", "topics": "consent.changed"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    (endpoint,) = endpoints(session)
    assert (endpoint.url, endpoint.description, endpoint.active) == (URL, "CRM", True)
    assert endpoint.secret.startswith("whsec_") and endpoint.secret in html
    assert "it is shown only once" in html
    assert actions(session) == [("webhook.created", f"webhook:{endpoint.public_id}",
                                 {"url": URL, "description": "CRM", "topics": ["consent.changed"]})]
    # Never again: the list shows the address, the events and the state, not the secret.
    html = client.get("/admin/webhooks").get_data(as_text=True)
    assert URL in html and "consent.changed" in html and "Nothing sent yet" in html
    assert endpoint.secret not in html


def test_an_admin_disables_a_webhook(client, session, admin):
    form_post(client, "/admin/webhooks", {"url": URL, "topics": "consent.changed"})
    (endpoint,) = endpoints(session)
    page = client.get("/admin/webhooks").get_data(as_text=True)
    action = f"/admin/webhooks/{endpoint.public_id}/disable"
    assert f'action="{action}"' in page
    response = client.post(action, data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    (endpoint,) = endpoints(session)
    assert endpoint.active is False and endpoint.disabled_at is not None
    assert [a[0] for a in actions(session)] == ["webhook.created", "webhook.disabled"]
    html = client.get("/admin/webhooks").get_data(as_text=True)
    assert "receives nothing more" in html and "Disabled on" in html
    # A second disable changes and logs nothing.
    assert client.post(action, data={"csrf_token": csrf_from(html)}).status_code == 302
    assert len(actions(session)) == 2


def test_disabling_needs_the_csrf_token(client, session, admin):
    form_post(client, "/admin/webhooks", {"url": URL, "topics": "consent.changed"})
    (endpoint,) = endpoints(session)
    assert client.post(f"/admin/webhooks/{endpoint.public_id}/disable").status_code == 400
    assert endpoints(session)[0].active is True
    token = csrf_from(client.get("/admin/webhooks").get_data(as_text=True))
    assert client.post("/admin/webhooks/wh_nobody/disable", data={"csrf_token": token}).status_code == 404


@pytest.mark.parametrize("url, message", [
    ("http://crm.example.com/hook", "plain http:// is accepted only to this machine"),
    ("ftp://crm.example.com/hook", "starts with https://"),
    ("crm.example.com/hook", "starts with https://"),
    ("https://user:secret@crm.example.com/hook", "Put no user name or password"),
    ("https://crm.example.com:port/hook", "starts with https://"),
    ("", "Give the receiver"),
    ("https://crm.example.com/" + "a" * 2000, "longer than 2000 characters"),
])
def test_an_invalid_url_gives_a_clear_error_and_writes_nothing(client, session, admin, url, message):
    response = form_post(client, "/admin/webhooks", {"url": url, "description": "CRM", "topics": "consent.changed"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert re.search(r'aria-invalid="true"[^>]*id="url"|id="url"[^>]*aria-invalid="true"', html)
    assert "whsec_" not in html
    assert endpoints(session) == [] and actions(session) == []


def test_plain_http_to_localhost_is_accepted_for_tests(client, session, admin):
    response = form_post(client, "/admin/webhooks", {"url": "http://127.0.0.1:8080/hook", "topics": "consent.changed"})
    assert response.status_code == 200
    assert endpoints(session)[0].url == "http://127.0.0.1:8080/hook"


def test_the_list_shows_the_last_delivery(client, session, runner, admin, customer):
    port = free_port()
    form_post(client, "/admin/webhooks", {"url": f"http://127.0.0.1:{port}/hook", "topics": "consent.changed"})
    record_change(session, customer.subject, {"newsletter": "granted"}, source=Source.API, actor=Actor.system())
    session.commit()
    assert "Waiting to be sent" in client.get("/admin/webhooks").get_data(as_text=True)
    runner.invoke(args=["outbox", "deliver", "--once"])
    session.rollback()
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "webhook")).one()
    assert message.attempts == 1 and message.status == "pending"
    assert "Failing (attempts so far: 1)" in client.get("/admin/webhooks").get_data(as_text=True)
    receiver = Receiver(port)
    try:
        record_change(session, customer.subject, {"newsletter": "withdrawn"}, source=Source.API,
                      actor=Actor.system())
        session.commit()
        runner.invoke(args=["outbox", "deliver", "--once"])
    finally:
        receiver.close()
    assert len(receiver.received) == 1
    assert "Delivered on" in client.get("/admin/webhooks").get_data(as_text=True)


def test_the_admin_home_links_to_the_page(client, admin):
    assert 'href="/admin/webhooks"' in client.get("/admin/").get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.AUDITOR, Role.CUSTOMER])
def test_other_roles_can_neither_see_nor_register(client, session, auth, make_account, role):
    make_account("someone@example.com", role=role, locale="en")
    auth.login("someone@example.com")
    assert client.get("/admin/webhooks").status_code == 403
    response = form_post(client, "/privacy", {"url": URL}, action="/admin/webhooks")
    assert response.status_code == 403
    assert endpoints(session) == [] and actions(session) == []
