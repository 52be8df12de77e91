"""Newsletter sign-up by double opt-in: nothing is recorded until the link is confirmed."""
import json
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from consent_center.ledger import Actor
from consent_center.models import ConsentEvent, ConsentState, NewsletterSignup, OutboxMessage, Receipt, Subject
from consent_center.policies.service import publish_policy
from consent_center.subjects.service import create_subject

from .conftest import csrf_from, form_post
from .mail_fixtures import deliver

SUBJECTS = {
    "fr": "Confirmez votre abonnement à la newsletter de Consent Center",
    "nl": "Bevestig uw inschrijving op de nieuwsbrief van Consent Center",
    "en": "Confirm your subscription to the Consent Center newsletter",
}


@pytest.fixture
def policy(session):
    version = publish_policy(session, "2026-01",
                             {"fr": "Notre politique.", "nl": "Ons beleid.", "en": "Our policy."},
                             effective_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    session.commit()
    return version


def sign_up(client, email="zoe@example.com", locale="fr", name="Zoé Peeters", accept=True, policy="2026-01"):
    data = {"email": email, "name": name, "locale": locale, "policy_version": policy}
    if accept:
        data["accept_policy"] = "y"
    return form_post(client, "/subscribe", data, headers={"Accept-Language": "en"})


def counts(session):
    session.rollback()
    return tuple(session.scalar(select(func.count()).select_from(m))
                 for m in (ConsentEvent, ConsentState, Receipt, Subject))


def outbox_rows(session):
    session.rollback()
    return session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def confirm(client, path):
    """Follow the e-mailed link like a person: open the page, press the button."""
    page = client.get(path)
    assert page.status_code == 200
    return client.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True))})


def test_sign_up_records_nothing_until_the_link_is_confirmed(client, session, runner, mailbox, policy):
    before = counts(session)
    response = sign_up(client)
    assert response.status_code == 302 and response.location == "/subscribe/sent"
    assert counts(session) == before  # no subject, no event, no receipt
    deliver(runner)
    link = mailbox.only("zoe@example.com").link()
    assert link.startswith("/subscribe/confirm/")

    assert client.get(link).status_code == 200
    assert client.head(link).status_code == 200
    assert counts(session) == before  # a mail scanner opening the link changes nothing

    assert confirm(client, link).status_code == 200
    session.rollback()
    subject = session.scalars(select(Subject).where(Subject.email == "zoe@example.com")).one()
    assert (subject.is_customer, subject.name, subject.locale) == (False, "Zoé Peeters", "fr")
    state = {s.channel.code: s.status for s in session.scalars(
        select(ConsentState).where(ConsentState.subject_id == subject.id))}
    assert state == {"email": "never_asked", "sms": "never_asked", "post": "granted", "newsletter": "granted"}
    event = session.scalars(select(ConsentEvent).where(ConsentEvent.subject_id == subject.id)
                            .order_by(ConsentEvent.seq.desc())).first()
    assert (event.source, event.status, event.basis, event.actor_type) == \
        ("double_opt_in", "granted", "consent", "subject")
    assert event.policy_version_id == policy.id
    evidence = event.evidence
    assert evidence["policy_version_accepted"] == "2026-01"
    assert evidence["signed_up_at"] <= evidence["confirmed_at"]
    assert (evidence["sign_up_trace"]["ip_network"], evidence["sign_up_trace"]["route"]) == \
        ("127.0.0.0/24", "/subscribe")
    assert evidence["confirmation_trace"]["route"] == "/subscribe/confirm/…"
    assert event.trace == evidence["confirmation_trace"]


def test_sign_up_and_confirmation_times_are_the_evidence(client, session, runner, mailbox, policy):
    with freeze_time("2026-04-02 09:15:00", real_asyncio=True) as frozen:
        sign_up(client)
        deliver(runner)
        frozen.tick(timedelta(hours=5))
        confirm(client, mailbox.only("zoe@example.com").link())
    session.rollback()
    event = session.scalars(select(ConsentEvent).where(ConsentEvent.source == "double_opt_in")).one()
    assert event.evidence["signed_up_at"] == "2026-04-02T09:15:00+00:00"
    assert event.evidence["confirmed_at"] == "2026-04-02T14:15:00+00:00"


@pytest.mark.parametrize("locale", ["fr", "nl", "en"])
def test_the_confirmation_email_is_in_the_chosen_language_with_no_unsubscribe_header(
        client, session, runner, mailbox, policy, locale):
    sign_up(client, locale=locale)  # the page itself is in English
    deliver(runner)
    received = mailbox.only("zoe@example.com")
    message = received.message
    assert message["Subject"] == SUBJECTS[locale]
    assert message["Content-Language"] == locale
    assert message["To"] == "zoe@example.com"  # no name typed by anyone in the form
    assert message["From"] == "Consent Center <no-reply@consent.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"] == f"<{outbox_rows(session)[0].public_id}@consent.example>"
    assert message["Date"]
    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None
    assert message.get_content_type() == "multipart/alternative"
    link = received.link()
    assert f'href="http://localhost{link}"' in received.html
    assert f'<html lang="{locale}">' in received.html
    greeting = {"fr": "Bonjour,", "nl": "Goedendag,", "en": "Hello,"}[locale]
    assert received.text.startswith(greeting)


def test_at_most_one_pending_confirmation_email_per_address_and_hour(client, session, policy):
    with freeze_time("2026-04-02 09:00:00") as frozen:
        first = sign_up(client)
        frozen.tick(timedelta(minutes=59))
        second = sign_up(client, email="ZOE@example.com", name="Someone else")
        assert (first.status_code, first.location) == (second.status_code, second.location)
        assert len(outbox_rows(session)) == 1
        frozen.tick(timedelta(minutes=2))
        sign_up(client)
        assert len(outbox_rows(session)) == 2
    assert session.scalar(select(func.count()).select_from(NewsletterSignup)) == 2


def test_confirmation_link_expires_after_a_week(client, session, runner, mailbox, policy):
    with freeze_time("2026-04-02 09:00:00", real_asyncio=True) as frozen:
        sign_up(client)
        deliver(runner)
        link = mailbox.only("zoe@example.com").link()
        before = counts(session)
        frozen.tick(timedelta(days=7, seconds=1))
        assert client.get(link).status_code == 404
    assert counts(session) == before


def test_a_confirmation_link_works_once(client, session, runner, mailbox, policy):
    sign_up(client)
    deliver(runner)
    link = mailbox.only("zoe@example.com").link()
    confirm(client, link)
    after_first = counts(session)
    again = confirm(client, link)
    assert again.status_code == 200
    assert "already confirmed" in client.get(link, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert counts(session) == after_first


def test_an_old_confirmation_link_does_not_subscribe_again_after_an_unsubscribe(client, session, runner, mailbox,
                                                                                policy):
    from consent_center import tokens

    sign_up(client)
    deliver(runner)
    link = mailbox.only("zoe@example.com").link()
    confirm(client, link)
    session.rollback()
    subject = session.scalars(select(Subject).where(Subject.email == "zoe@example.com")).one()
    client.post(f"/u/{tokens.unsubscribe_token(subject.public_id, 'newsletter')}",
                data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    confirm(client, link)
    session.rollback()
    state = session.scalars(select(ConsentState).join(ConsentState.channel)
                            .where(ConsentState.subject_id == subject.id)).all()
    assert {s.channel.code: s.status for s in state}["newsletter"] == "withdrawn"


def test_an_existing_customer_who_signs_up_keeps_one_subject(client, session, runner, mailbox, policy):
    create_subject(session, actor=Actor.system(), email="zoe@example.com", name="Zoé", is_customer=True)
    session.commit()
    subjects = counts(session)[3]
    sign_up(client)
    deliver(runner)
    confirm(client, mailbox.only("zoe@example.com").link())
    session.rollback()
    assert counts(session)[3] == subjects
    subject = session.scalars(select(Subject).where(Subject.email == "zoe@example.com")).one()
    assert subject.is_customer and subject.name == "Zoé"


def test_sign_up_without_the_policy_box_is_refused_with_the_form_kept(client, session, policy):
    response = sign_up(client, accept=False)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'value="zoe@example.com"' in html and "read the privacy policy" in html
    assert outbox_rows(session) == []


def test_sign_up_with_a_bad_address_is_refused(client, session, policy):
    response = sign_up(client, email="not an address")
    assert response.status_code == 400
    assert outbox_rows(session) == []


def test_a_policy_published_while_the_form_was_open_must_be_read_again(client, session, policy):
    response = sign_up(client, policy="2025-06")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "The privacy policy has changed" in html and 'value="2026-01"' in html
    assert outbox_rows(session) == []


def test_sign_up_page_shows_the_policy_version_and_text(client, policy):
    html = client.get("/subscribe", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert "2026-01" in html and "Ons beleid." in html
    assert 'type="checkbox"' in html


def test_sign_up_is_closed_without_a_policy_in_force(client, session):
    assert client.get("/subscribe").status_code == 503
    assert outbox_rows(session) == []


def test_the_confirmation_mail_greets_generically_and_echoes_nothing_typed_in_the_form(
        client, session, runner, mailbox, policy):
    # Anyone can type anyone's address: what they type in the name field must not travel in company mail.
    lure = "Click http://evil.example to win"
    assert sign_up(client, email="victim@example.com", name=lure, locale="en").status_code == 302
    (message,) = outbox_rows(session)
    assert lure not in json.dumps(message.payload) and message.payload.get("name") is None
    deliver(runner)
    received = mailbox.only("victim@example.com")
    everything = received.message.as_string() + received.text + received.html
    assert "evil.example" not in everything and "Click" not in everything
    assert str(received.message["To"]) == "victim@example.com"
    assert received.text.startswith("Hello,")
