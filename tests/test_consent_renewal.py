"""A customer sees when each consent lapses and confirms it before: a renewal (issue 21, item 7)."""
from __future__ import annotations

import json
import re

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center.ledger import Actor, record_change
from consent_center.models import Channel, ConsentEvent, Receipt
from consent_center.models.vocabulary import ActorType, Source

from .conftest import account_by_email, csrf_from, form_post
from .ledger_consistency import assert_ledger_consistent


@pytest.fixture
def subscriber(session, make_account):
    """A customer who subscribed to the newsletter on 10 January 2024; its consent lasts 24 months."""
    session.scalars(select(Channel).where(Channel.code == "newsletter")).one().validity_months = 24
    session.commit()
    with freeze_time("2024-01-10 09:00:00"):
        account = make_account("lise@example.com", name="Lise Peeters", locale="en")
        subject = account.subject
        record_change(session, subject, {"newsletter": "granted"}, source=Source.CUSTOMER_SPACE,
                      actor=Actor(ActorType.SUBJECT, subject.public_id))
        session.commit()
    session.remove()
    return "lise@example.com"


def set_locale(session, email, locale):
    account_by_email(session, email).locale = locale
    session.commit()
    session.remove()


@pytest.mark.parametrize("locale, lapses", [
    ("en", "January 10, 2026"), ("fr", "10 janvier 2026"), ("nl", "10 januari 2026")])
def test_the_space_shows_when_each_consent_lapses_in_the_customers_language(
        client, auth, session, subscriber, locale, lapses):
    set_locale(session, subscriber, locale)
    with freeze_time("2025-06-01 08:00:00"):
        auth.login(subscriber)
        html = client.get("/space/preferences").get_data(as_text=True)
    assert lapses in html
    # Only a consent lapses: the soft opt-in of e-mail and SMS shows no date.
    assert html.count(lapses) == 1 and html.count('name="channel"') == 1


def test_a_customer_who_confirms_before_the_lapse_records_a_renewal_with_its_receipt(
        client, auth, session, subscriber, runner, tmp_path):
    with freeze_time("2025-12-20 08:00:00"):
        auth.login(subscriber)
        response = form_post(client, "/space/preferences", {"channel": "newsletter"},
                             action="/space/preferences/renew")
        assert response.status_code == 302
        page = client.get(response.location).get_data(as_text=True)
    assert "December 20, 2027" in page  # the new lapse, said in the message and beside the switch
    event = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc())).first()
    assert (event.status, event.previous_status, event.basis, event.event_type, event.source) == (
        "granted", "granted", "consent", "renewed", "customer_space")
    document = json.loads(session.get(Receipt, event.receipt_id).document)
    assert [(e["eventType"], e["status"]) for e in document["events"]] == [("renewed", "granted")]
    assert_ledger_consistent(session)
    session.remove()

    out = tmp_path / "events.jsonl"
    result = runner.invoke(args=["export", "events", "--format", "jsonl", "--channel", "newsletter",
                                 "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text().splitlines()[-1])["dpv_status"] == "dpv:RenewedConsentGiven"

    # The consent did not lapse on 10 January 2026: it lasts until the new date.
    with freeze_time("2026-01-11 08:00:00"):
        assert runner.invoke(args=["consent", "expire"]).exit_code == 0
        auth.login(subscriber)
        html = client.get("/space/preferences").get_data(as_text=True)
    assert "December 20, 2027" in html


def test_a_confirmation_after_the_lapse_is_a_consent_given_again(client, auth, session, subscriber):
    with freeze_time("2026-01-10 10:00:00"):  # lapsed, the expiry job not run yet
        auth.login(subscriber)
        form_post(client, "/space/preferences", {"channel": "newsletter"}, action="/space/preferences/renew")
    event = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc())).first()
    assert (event.status, event.event_type) == ("granted", "given")


@pytest.mark.parametrize("channel", ["email", "sms", "fax", ""])
def test_nothing_else_can_be_renewed(client, auth, session, subscriber, channel):
    with freeze_time("2025-12-20 08:00:00"):
        auth.login(subscriber)
        before = session.scalars(select(ConsentEvent.id)).all()
        session.remove()
        response = form_post(client, "/space/preferences", {"channel": channel},
                             action="/space/preferences/renew")
    assert response.status_code in (302, 400)
    assert session.scalars(select(ConsentEvent.id)).all() == before


def test_renewing_needs_the_csrf_token_and_a_login(client, auth, session, subscriber):
    assert client.post("/space/preferences/renew", data={"channel": "newsletter"}).status_code in (302, 400, 401)
    auth.login(subscriber)
    assert client.post("/space/preferences/renew", data={"channel": "newsletter"}).status_code == 400
    assert session.scalars(select(ConsentEvent).where(ConsentEvent.event_type == "renewed")).all() == []


def test_the_same_confirmation_sent_twice_from_the_space_records_one_renewal(client, auth, session, subscriber):
    with freeze_time("2025-12-20 08:00:00", real_asyncio=True) as frozen:
        auth.login(subscriber)
        html = client.get("/space/preferences").get_data(as_text=True)
        value = re.search(r'formaction="/space/preferences/renew" name="channel" value="([^"]+)"', html).group(1)
        sent = {"csrf_token": csrf_from(html), "channel": value}
        assert client.post("/space/preferences/renew", data=sent).status_code == 302
        frozen.tick(60)
        assert client.post("/space/preferences/renew", data=sent).status_code == 302
    assert len(session.scalars(select(ConsentEvent).where(ConsentEvent.event_type == "renewed")).all()) == 1
