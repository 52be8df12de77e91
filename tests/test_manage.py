"""Preferences by e-mailed link: the same answer for known and unknown addresses."""
import base64
import re
import zlib
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center import tokens
from consent_center.ledger import Actor
from consent_center.models import ConsentEvent, ConsentState, OutboxMessage, Subject
from consent_center.subjects.service import create_subject

from .conftest import csrf_from, form_post
from .mail_fixtures import deliver


@pytest.fixture
def known(session):
    subject = create_subject(session, actor=Actor.system(), email="lena@example.com", name="Lena de Vries",
                             locale="nl", is_customer=True)
    session.commit()
    return subject


def ask(client, email):
    return form_post(client, "/manage", {"email": email})


def outbox_count(session):
    session.rollback()
    return len(session.scalars(select(OutboxMessage)).all())


def page(response) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "", response.get_data(as_text=True))


def test_known_and_unknown_addresses_get_the_same_answer(app, session, mailbox, known):
    answers = {}
    for email in ("lena@example.com", "nobody@example.com"):
        client = app.test_client()
        response = ask(client, email)
        answers[email] = (response.status_code, response.location, page(client.get(response.location)))
    assert answers["lena@example.com"] == answers["nobody@example.com"]
    assert answers["lena@example.com"][:2] == (302, "/manage/sent")
    assert outbox_count(session) == 1
    assert mailbox.messages == []  # nothing is sent inline: the worker sends it


def test_the_manage_link_opens_the_subjects_preferences_without_login(client, session, runner, mailbox, known):
    ask(client, "Lena@Example.com ")
    deliver(runner)
    received = mailbox.only("lena@example.com")
    assert received.message["Content-Language"] == "nl"
    assert received.message["Subject"] == "Uw link om te kiezen hoe Consent Center contact met u mag opnemen"
    assert received.message["List-Unsubscribe"] is None
    link = received.link()
    assert link.startswith("/manage/")

    fresh = client.application.test_client()  # another browser, never logged in
    response = fresh.get(link, headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    html = response.get_data(as_text=True)
    assert 'name="active" value="sms"' in html
    saved = fresh.post(link, data={"csrf_token": csrf_from(html), "active": ["email", "post"]})
    assert saved.status_code == 302 and saved.location == link
    session.rollback()
    event = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc())).first()
    assert (event.channel.code, event.status, event.source) == ("sms", "withdrawn", "manage_link")
    assert event.trace["route"] == "/manage/…" and "account" not in event.trace
    assert "SMS" in page(fresh.get(link, headers={"Accept-Language": "en"}))


def test_a_manage_link_expires_after_two_days(client, session, runner, mailbox, known):
    with freeze_time("2026-06-01 12:00:00", real_asyncio=True) as frozen:
        ask(client, "lena@example.com")
        deliver(runner)
        link = mailbox.only("lena@example.com").link()
        frozen.tick(timedelta(hours=47))
        assert client.get(link).status_code == 200
        frozen.tick(timedelta(hours=2))
        assert client.get(link).status_code == 404


def test_a_manage_link_dies_when_the_address_changes(client, session, known):
    link = f"/manage/{tokens.subject_token('manage_link', known.public_id, known.email)}"
    assert client.get(link).status_code == 200
    subject = session.scalars(select(Subject).where(Subject.email == "lena@example.com")).one()
    subject.email = "lena.new@example.com"
    session.commit()
    assert client.get(link).status_code == 404


def test_a_forged_manage_link_is_refused_and_changes_nothing(client, session, known):
    subject_id, before = known.id, len(session.scalars(select(ConsentState)).all())
    unsubscribe = tokens.unsubscribe_token(known.public_id, "email")  # another purpose's token
    for link in ("/manage/forged", f"/manage/{unsubscribe}"):
        assert client.get(link).status_code == 404
        assert client.post(link, data={"active": []}).status_code in (400, 404)
    session.rollback()
    assert len(session.scalars(select(ConsentState)).all()) == before
    assert {s.status for s in session.scalars(select(ConsentState).where(
        ConsentState.subject_id == subject_id))} == {"granted", "never_asked"}


def test_the_manage_form_refuses_a_bad_address(client, session):
    response = ask(client, "not-an-address")
    assert response.status_code == 400
    assert outbox_count(session) == 0


def _payload(link: str) -> str:
    """What anyone can read in a link's token: itsdangerous payloads are only base64."""
    token = link.rsplit("/", 1)[1]
    compressed = token.startswith(".")  # itsdangerous zlib-compresses a payload when that is shorter
    data = token.lstrip(".").split(".", 1)[0]
    raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    return (zlib.decompress(raw) if compressed else raw).decode("utf-8", "replace")


def test_the_manage_link_carries_no_readable_personal_data(client, session, runner, mailbox, known):
    ask(client, "lena@example.com")
    deliver(runner)
    link = mailbox.only("lena@example.com").link()
    readable = _payload(link)
    assert "lena" not in readable.lower() and "@" not in readable and "example" not in readable
    assert known.public_id in readable  # the subject's public id, random, names no one
    assert client.get(link).status_code == 200


def test_a_manage_link_in_the_old_format_is_refused(client, session, known):
    old = tokens.sign("manage_link", {"s": known.public_id, "e": known.email})
    assert client.get(f"/manage/{old}").status_code == 404


def test_a_manage_link_dies_when_the_address_changes_even_in_another_spelling(client, session, runner, mailbox,
                                                                            known):
    ask(client, "LENA@Example.com")
    deliver(runner)
    link = mailbox.only("lena@example.com").link()
    subject = session.scalars(select(Subject).where(Subject.email == "lena@example.com")).one()
    subject.email = "lena2@example.com"
    session.commit()
    assert client.get(link).status_code == 404


def test_a_manage_link_survives_a_key_rotation_while_the_old_key_is_a_fallback(app, client, session, known):
    app.config["SECRET_KEY"] = "the-old-key"
    link = f"/manage/{tokens.subject_token('manage_link', known.public_id, known.email)}"
    app.config.update(SECRET_KEY="the-new-key", SECRET_KEY_FALLBACKS=["the-old-key"])
    assert client.get(link).status_code == 200
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert client.get(link).status_code == 404
