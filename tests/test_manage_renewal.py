"""A person confirms a consent before it lapses from the manage link the reminder e-mail gives them."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center import tokens
from consent_center.ledger import Actor, record_change
from consent_center.models import Channel, ConsentEvent, Receipt, Subject
from consent_center.models.vocabulary import ActorType, Source
from consent_center.rights.effects import restrict
from consent_center.rights.erasure import erase
from consent_center.subjects.service import create_subject

from .conftest import csrf_from
from .ledger_consistency import assert_ledger_consistent

GIVEN = "2024-01-10 09:00:00"  # the newsletter consent lasts 24 months: until 10 January 2026
BEFORE_LAPSE = "2025-12-20 08:00:00"


def _subject(session, email, name, *, newsletter: bool) -> str:
    subject = create_subject(session, actor=Actor.system(), email=email, name=name, locale="en", is_customer=True)
    if newsletter:
        record_change(session, subject, {"newsletter": "granted"}, source=Source.CUSTOMER_SPACE,
                      actor=Actor(ActorType.SUBJECT, subject.public_id))
    session.commit()
    return subject.public_id


@pytest.fixture(autouse=True)
def english(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def people(session):
    """Two people: Lise subscribed to the newsletter (a consent that lapses); Noor did not."""
    session.scalars(select(Channel).where(Channel.code == "newsletter")).one().validity_months = 24
    session.commit()
    with freeze_time(GIVEN):
        ids = {"lise": _subject(session, "lise@example.com", "Lise Peeters", newsletter=True),
               "noor": _subject(session, "noor@example.com", "Noor Jansen", newsletter=False)}
    session.remove()
    return ids


def manage_link(session, public_id: str) -> str:
    subject = session.scalars(select(Subject).where(Subject.public_id == public_id)).one()
    link = f"/manage/{tokens.subject_token('manage_link', subject.public_id, subject.email)}"
    session.remove()
    return link


def renew_button(html: str) -> tuple[str, str, str]:
    """The page's "Confirm it" button: (its form action, its channel value, the page's CSRF token)."""
    match = re.search(r'<button type="submit" formaction="([^"]+)" name="channel" value="([^"]+)"', html)
    assert match, "no renewal button on the page"
    return match.group(1), match.group(2), csrf_from(html)


def events(session) -> list[tuple]:
    session.rollback()
    return [(e.subject.public_id, e.channel.code, e.event_type, e.source)
            for e in session.scalars(select(ConsentEvent).order_by(ConsentEvent.id))]


def test_the_manage_page_shows_when_a_consent_lapses_and_a_button_to_confirm_it(client, session, people):
    with freeze_time(BEFORE_LAPSE, real_asyncio=True):
        link = manage_link(session, people["lise"])
        html = client.get(link).get_data(as_text=True)
    assert "Your consent lasts until January 10, 2026." in html
    action, value, _ = renew_button(html)
    assert action == f"{link}/renew" and value.startswith("newsletter")
    assert html.count('name="channel"') == 1  # the soft opt-in of e-mail and SMS does not lapse


def test_confirming_from_the_manage_link_records_a_renewal_with_its_receipt(client, session, people):
    with freeze_time(BEFORE_LAPSE, real_asyncio=True):
        link = manage_link(session, people["lise"])
        action, value, csrf = renew_button(client.get(link).get_data(as_text=True))
        response = client.post(action, data={"csrf_token": csrf, "channel": value})
        assert (response.status_code, response.location) == (302, link)
        page = client.get(link).get_data(as_text=True)
    assert "confirmed until December 20, 2027" in page and "lasts until December 20, 2027" in page
    event = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc())).first()
    assert (event.status, event.previous_status, event.basis, event.event_type, event.source) == (
        "granted", "granted", "consent", "renewed", "manage_link")
    assert event.trace["route"] == "/manage/…/renew" and "account" not in event.trace
    assert session.get(Receipt, event.receipt_id) is not None
    assert_ledger_consistent(session)


def test_a_confirmation_from_the_manage_link_after_the_lapse_is_a_consent_given_again(client, session, people):
    with freeze_time("2026-01-10 10:00:00", real_asyncio=True):  # lapsed, the expiry job not run yet
        link = manage_link(session, people["lise"])
        action, value, csrf = renew_button(client.get(link).get_data(as_text=True))
        assert client.post(action, data={"csrf_token": csrf, "channel": value}).status_code == 302
    assert events(session)[-1] == (people["lise"], "newsletter", "given", "manage_link")


@pytest.mark.parametrize("channel", ["email", "sms", "fax", "", "newsletter@999"])
def test_nothing_else_can_be_confirmed_from_the_manage_link(client, session, people, channel):
    before = events(session)
    with freeze_time(BEFORE_LAPSE, real_asyncio=True):
        link = manage_link(session, people["lise"])
        csrf = csrf_from(client.get(link).get_data(as_text=True))
        response = client.post(f"{link}/renew", data={"csrf_token": csrf, "channel": channel})
    assert response.status_code in (302, 400)
    assert events(session) == before


def test_the_same_confirmation_sent_twice_records_one_renewal(client, session, people):
    with freeze_time(BEFORE_LAPSE, real_asyncio=True) as frozen:
        link = manage_link(session, people["lise"])
        action, value, csrf = renew_button(client.get(link).get_data(as_text=True))
        assert client.post(action, data={"csrf_token": csrf, "channel": value}).status_code == 302
        frozen.tick(timedelta(hours=1))
        assert client.post(action, data={"csrf_token": csrf, "channel": value}).status_code == 302
        assert "Nothing changed." in client.get(link).get_data(as_text=True)
    assert [e for e in events(session) if e[2] == "renewed"] == [
        (people["lise"], "newsletter", "renewed", "manage_link")]


def test_another_subjects_link_confirms_nothing_of_theirs(client, session, people):
    before = events(session)
    with freeze_time(BEFORE_LAPSE, real_asyncio=True):
        lise, noor = manage_link(session, people["lise"]), manage_link(session, people["noor"])
        _, value, csrf = renew_button(client.get(lise).get_data(as_text=True))
        assert 'name="channel"' not in client.get(noor).get_data(as_text=True)
        response = client.post(f"{noor}/renew", data={"csrf_token": csrf, "channel": value})
    assert response.status_code in (302, 400)
    assert events(session) == before


def test_an_expired_or_forged_manage_link_confirms_nothing(client, session, people):
    with freeze_time(BEFORE_LAPSE, real_asyncio=True) as frozen:
        link = manage_link(session, people["lise"])
        action, value, csrf = renew_button(client.get(link).get_data(as_text=True))
        before = events(session)
        frozen.tick(timedelta(hours=49))
        csrf = csrf_from(client.get("/manage").get_data(as_text=True))  # a fresh one: only the link is old
        assert client.post(action, data={"csrf_token": csrf, "channel": value}).status_code == 404
        assert client.post("/manage/forged/renew", data={"csrf_token": csrf, "channel": value}).status_code == 404
        unsubscribe = tokens.unsubscribe_token(people["lise"], "newsletter")  # another purpose's token
        assert client.post(f"/manage/{unsubscribe}/renew",
                           data={"csrf_token": csrf, "channel": value}).status_code == 404
    assert events(session) == before


def test_a_get_or_a_post_without_the_csrf_token_confirms_nothing(client, session, people):
    before = events(session)
    with freeze_time(BEFORE_LAPSE, real_asyncio=True):
        link = manage_link(session, people["lise"])
        _, value, _ = renew_button(client.get(link).get_data(as_text=True))
        assert client.get(f"{link}/renew?channel=newsletter").status_code == 405
        assert client.head(f"{link}/renew").status_code == 405
        assert client.post(f"{link}/renew", data={"channel": value}).status_code == 400
    assert events(session) == before


def test_a_restricted_subject_confirms_nothing_from_the_manage_link(client, session, people):
    with freeze_time(BEFORE_LAPSE, real_asyncio=True):
        link = manage_link(session, people["lise"])
        action, value, csrf = renew_button(client.get(link).get_data(as_text=True))
        subject = session.scalars(select(Subject).where(Subject.public_id == people["lise"])).one()
        restrict(session, subject, actor=Actor.system())
        session.commit()
        before = events(session)
        assert client.post(action, data={"csrf_token": csrf, "channel": value}).status_code in (302, 409)
        assert 'name="channel"' not in client.get(link).get_data(as_text=True)
    assert events(session) == before


def test_an_erased_subjects_manage_link_confirms_nothing(client, session, people):
    with freeze_time(BEFORE_LAPSE, real_asyncio=True):
        link = manage_link(session, people["lise"])
        action, value, csrf = renew_button(client.get(link).get_data(as_text=True))
        subject = session.scalars(select(Subject).where(Subject.public_id == people["lise"])).one()
        erase(session, subject, actor=Actor.system())
        session.commit()
        before = events(session)
        assert client.post(action, data={"csrf_token": csrf, "channel": value}).status_code == 404
    assert events(session) == before
