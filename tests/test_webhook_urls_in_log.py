"""The staff log keeps a webhook's address without its secrets (issue 21, "Trust holes").

A receiver may take a token in the query string, or (an endpoint
registered before such addresses were refused) a user name and password
before the host. The endpoint keeps its full address, for delivery; the
staff log, and /admin/log that shows it, keep scheme, host, port and path
only, whether the webhook was added or disabled on the back office or on
the command line.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from consent_center.models import Role, StaffAction, WebhookEndpoint

from .conftest import csrf_from, form_post

SECRETS = ("s3cr3t-query-token", "hook-user", "s3cr3t-password", "s3cr3t-fragment")
WITH_TOKEN = "https://crm.example.com:8443/hooks/consent?token=s3cr3t-query-token&v=2#s3cr3t-fragment"
LOGGED = "https://crm.example.com:8443/hooks/consent"
# Refused at registration now; an endpoint stored before the refusal can still be disabled.
WITH_USERINFO = "https://hook-user:s3cr3t-password@crm.example.com/hooks/consent?token=s3cr3t-query-token"


@pytest.fixture
def admin(make_account, auth):
    account = make_account("ada@example.com", role=Role.ADMIN, locale="en")
    auth.login("ada@example.com")
    return account


def logged_urls(session) -> list[tuple[str, str]]:
    session.rollback()
    return [(a.action, a.details["url"]) for a in session.scalars(select(StaffAction).order_by(StaffAction.id))]


def stored_endpoint(session, url: str) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(url=url, secret="whsec_c2VjcmV0")
    session.add(endpoint)
    session.commit()
    return endpoint


def assert_no_secret_on_the_log_page(client, *, flashed: str | None = None) -> None:
    page = client.get("/admin/log").get_data(as_text=True)
    if flashed:  # the disabling's message, carried in the session cookie, shows here
        assert f"The webhook {flashed} receives nothing more." in page
    assert "crm.example.com" in page and "/hooks/consent" in page  # the lines are there, and their address
    assert not [s for s in SECRETS if s in page]


def test_a_webhook_added_on_the_back_office_is_logged_without_its_token(client, session, admin):
    assert form_post(client, "/admin/webhooks", {"url": WITH_TOKEN, "topics": "consent.changed"}).status_code == 200
    session.rollback()
    endpoint = session.scalars(select(WebhookEndpoint)).one()
    assert endpoint.url == WITH_TOKEN  # delivery needs the whole address
    page = client.get("/admin/webhooks").get_data(as_text=True)
    action = f"/admin/webhooks/{endpoint.public_id}/disable"
    assert client.post(action, data={"csrf_token": csrf_from(page)}).status_code == 302
    assert logged_urls(session) == [("webhook.created", LOGGED), ("webhook.disabled", LOGGED)]
    assert_no_secret_on_the_log_page(client, flashed=LOGGED)


def test_a_webhook_with_a_password_before_its_host_is_disabled_and_logged_without_it(client, session, admin):
    endpoint = stored_endpoint(session, WITH_USERINFO)
    page = client.get("/admin/webhooks").get_data(as_text=True)
    action = f"/admin/webhooks/{endpoint.public_id}/disable"
    assert client.post(action, data={"csrf_token": csrf_from(page)}).status_code == 302
    assert logged_urls(session) == [("webhook.disabled", "https://crm.example.com/hooks/consent")]
    assert_no_secret_on_the_log_page(client, flashed="https://crm.example.com/hooks/consent")


def test_a_webhook_added_and_disabled_on_the_command_line_is_logged_without_its_secrets(
        runner, client, session, admin):
    result = runner.invoke(args=["webhook", "add", "--url", WITH_TOKEN])
    assert result.exit_code == 0, result.output
    added = session.scalars(select(WebhookEndpoint)).one()
    stored = stored_endpoint(session, WITH_USERINFO)
    for endpoint in (added, stored):
        result = runner.invoke(args=["webhook", "disable", endpoint.public_id])
        assert result.exit_code == 0, result.output
    assert logged_urls(session) == [("webhook.created", LOGGED), ("webhook.disabled", LOGGED),
                                    ("webhook.disabled", "https://crm.example.com/hooks/consent")]
    assert_no_secret_on_the_log_page(client)


@pytest.mark.parametrize("url, logged", [
    ("https://crm.example.com?token=s3cr3t-query-token", "https://crm.example.com"),
    ("https://crm.example.com/?token=s3cr3t-query-token", "https://crm.example.com/"),
    ("https://CRM.Example.com/Hooks#s3cr3t-fragment", "https://crm.example.com/Hooks"),
    ("https://crm.example.com:443/hooks?s3cr3t-query-token", "https://crm.example.com:443/hooks"),
    ("https://crm.example.com/hooks?token=a?b#c?s3cr3t-query-token", "https://crm.example.com/hooks"),
    ("https://[2606:4700::1111]:8443/hooks?token=s3cr3t-query-token", "https://[2606:4700::1111]:8443/hooks"),
    ("https://@crm.example.com/hooks?token=s3cr3t-query-token", "https://crm.example.com/hooks"),
], ids=["no-path", "root-path", "host-in-capitals", "bare-query", "question-marks", "ipv6", "empty-userinfo"])
def test_every_spelling_of_a_query_or_fragment_is_left_out(runner, session, url, logged):
    result = runner.invoke(args=["webhook", "add", "--url", url])
    assert result.exit_code == 0, result.output
    assert logged_urls(session) == [("webhook.created", logged)]


@pytest.mark.parametrize("url", [
    "https://hook-user:s3cr3t-password@crm.example.com:99999/hooks?token=s3cr3t-query-token",
    "https://hook-user:s3cr3t-password@[crm.example.com/hooks?token=s3cr3t-query-token",
], ids=["port-out-of-range", "broken-brackets"])
def test_a_stored_address_that_does_not_parse_is_logged_as_nothing_of_it(runner, session, url):
    endpoint = stored_endpoint(session, url)
    result = runner.invoke(args=["webhook", "disable", endpoint.public_id])
    assert result.exit_code == 0, result.output
    assert logged_urls(session) == [("webhook.disabled", "")]
