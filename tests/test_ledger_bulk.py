"""The ledger's bulk path writes what as many ``record_change`` calls would."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import select, text

from consent_center.ledger import Actor, LedgerError, UnknownChannel, record_change
from consent_center.ledger.bulk import Submission, record_many
from consent_center.models import ConsentEvent, ConsentState, OutboxMessage, Receipt, Subject
from consent_center.models.vocabulary import ActorType, EventType, Source
from consent_center.outbox.webhooks import add_endpoint
from consent_center.policies.service import publish_policy

from .ledger_consistency import assert_ledger_consistent

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def script(subject):
    """A few submissions of every kind the ledger knows: (changes, keyword arguments)."""
    me = Actor(ActorType.SUBJECT, subject.public_id)
    return [
        ({"email": "granted", "sms": "refused", "post": "granted", "newsletter": "never_asked"},
         dict(source=Source.DEFAULT, actor=Actor.system(), event_type=EventType.DEFAULT,
              basis={"post": "legitimate_interest"})),
        ({"newsletter": "granted", "email": "granted"}, dict(source=Source.CUSTOMER_SPACE, actor=me)),
        ({"email": "withdrawn"}, dict(source=Source.UNSUBSCRIBE_LINK, actor=me, trace={"ip": "203.0.113.9"})),
        ({"email": "withdrawn"}, dict(source=Source.UNSUBSCRIBE_LINK, actor=me)),  # no change: nothing
        ({"post": "granted"}, dict(source=Source.RECONSENT, actor=me, renew=True)),
        ({"sms": "granted", "post": "withdrawn"},
         dict(source=Source.API, actor=Actor(ActorType.API_CLIENT, "tool-1"), evidence={"form": "v2"})),
    ]


def _subject(session, email, locale):
    subject = Subject(email=email, locale=locale, is_customer=True)
    session.add(subject)
    session.flush()
    return subject


def _events(session, subject):
    return session.scalars(select(ConsentEvent).where(ConsentEvent.subject_id == subject.id)
                           .order_by(ConsentEvent.seq)).all()


def _comparable_events(session, subject):
    skip = {"id", "public_id", "subject_id", "receipt_id", "hash", "prev_hash"}
    found = [{c.key: getattr(e, c.key) for c in ConsentEvent.__table__.c if c.key not in skip}
             for e in _events(session, subject)]
    for event in found:
        if event["actor_type"] == ActorType.SUBJECT:
            event["actor_id"] = "the subject"
    return found


def _comparable_receipts(session, subject):
    found = []
    for receipt in session.scalars(select(Receipt).where(Receipt.subject_id == subject.id).order_by(Receipt.id)):
        document = json.loads(receipt.document)
        for key in ("consentReceiptID", "jti", "piiPrincipalId", "sub"):
            document.pop(key)
        for event in document["events"]:
            event.pop("id"), event.pop("hash"), event.pop("prevHash")
            if event["actor"]["type"] == ActorType.SUBJECT:
                event["actor"]["id"] = "the subject"
        found.append((receipt.issued_at, receipt.language, receipt.jws is not None, document))
    return found


def _comparable_states(session, subject):
    return sorted((s.channel_id, s.status, s.basis, s.policy_version_id, s.changed_at)
                  for s in session.scalars(select(ConsentState).where(ConsentState.subject_id == subject.id)))


def _stored_json(session, subject):
    """The JSON columns as the database holds them: the text, not what it loads into."""
    return session.execute(text(
        "SELECT seq, CAST(evidence AS TEXT), CAST(trace AS TEXT) FROM consent_events WHERE subject_id = :subject "
        "ORDER BY seq"), {"subject": subject.id}).all()


def _payloads(session, subject):
    payloads = []
    for message in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)):
        data = dict(message.payload["data"])
        if data["subject"] != subject.public_id:
            continue
        data.pop("subject"), data.pop("receipt")
        data["events"] = [{k: v for k, v in e.items() if k not in ("id", "subject", "receipt")} for e in data["events"]]
        payloads.append(data)
    return payloads


def test_the_bulk_path_writes_what_record_change_writes(app, session, runner):
    add_endpoint(session, "https://hooks.example.com/consent")
    publish_policy(session, "2026-01", {"en": "Policy.", "nl": "Beleid."}, effective_at=T0 - timedelta(days=30))
    single, bulk = _subject(session, "single@example.com", "nl"), _subject(session, "bulk@example.com", "nl")
    moments = [T0 + timedelta(minutes=i) for i in range(len(script(single)))]
    for moment, (changes, kw) in zip(moments, script(single)):
        with freeze_time(moment):
            record_change(session, single, changes, **kw)
    # In chunks of two: heads and states carried from one chunk to the next.
    recorded = record_many(session, [Submission(bulk, changes, at=moment, **kw)
                                     for moment, (changes, kw) in zip(moments, script(bulk))], chunk=2)
    session.commit()

    assert (recorded.submissions, recorded.receipts, recorded.events) == (6, 5, 9)
    assert _comparable_events(session, bulk) == _comparable_events(session, single)
    assert _comparable_receipts(session, bulk) == _comparable_receipts(session, single)
    assert _comparable_states(session, bulk) == _comparable_states(session, single)
    assert _stored_json(session, bulk) == _stored_json(session, single)
    assert [row[1] for row in _stored_json(session, bulk)].count('{"form":"v2"}') == 2
    assert _payloads(session, bulk) == _payloads(session, single) != []
    assert_ledger_consistent(session)
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0 and "OK" in result.output, result.output


def test_the_bulk_path_continues_a_chain_the_single_path_began(app, session, runner):
    subjects = [_subject(session, f"p{i}@example.com", "fr") for i in range(3)]
    for subject in subjects[:2]:
        record_change(session, subject, {"email": "granted", "sms": "granted"}, source=Source.STAFF,
                      actor=Actor.system())
    session.commit()
    held = session.get(ConsentState, (subjects[0].id, _events(session, subjects[0])[0].channel_id))
    assert held.status == "granted"
    submissions = [Submission(s, {"email": "withdrawn", "post": "granted"}, Source.IMPORT, Actor.system())
                   for s in subjects] + [Submission(subjects[0], {"sms": "withdrawn"}, Source.IMPORT, Actor.system())]
    assert record_many(session, submissions, chunk=3).events == 7
    assert held.status == "withdrawn"  # the state the session held is read again
    record_change(session, subjects[0], {"email": "granted"}, source=Source.STAFF, actor=Actor.system())
    session.commit()
    assert [e.seq for e in _events(session, subjects[0])] == [1, 2, 3, 4, 5, 6]
    assert_ledger_consistent(session)
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0


def test_the_bulk_path_refuses_what_record_change_refuses(app, session):
    subject = _subject(session, "x@example.com", "fr")
    with pytest.raises(UnknownChannel):
        record_many(session, [Submission(subject, {"fax": "granted"}, Source.API, Actor.system())])
    with pytest.raises(LedgerError, match="unknown status"):
        record_many(session, [Submission(subject, {"email": "maybe"}, Source.API, Actor.system())])
    with pytest.raises(LedgerError, match="back in time"):
        record_many(session, [Submission(subject, {"email": "granted"}, Source.API, Actor.system(), at=T0),
                              Submission(subject, {"email": "withdrawn"}, Source.API, Actor.system(),
                                         at=T0 - timedelta(seconds=1))])
    session.rollback()
    assert session.scalars(select(ConsentEvent)).all() == []
