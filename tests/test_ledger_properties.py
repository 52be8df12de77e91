"""Invariants 1-3 under random histories (hypothesis).

Each example is a random sequence of operations on a few new subjects:
changes of random channel subsets to random statuses, from random sources,
with random legal bases, sometimes as renewals, sometimes refused (an
unknown channel, status or basis); and clock moves, forward or not at all.
After every operation, and at the end of each example:

1. the change wrote, together, exactly the events a model predicts, their
   states, and one receipt whose signed document names those events (or,
   refused, it wrote nothing at all);
2. replaying the ledger gives exactly ConsentState, and the model's states;
3. every chain verifies, and an edit, a deletion or a reordering of any one
   event hypothesis picks is found, at that event's subject.
"""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from consent_center.ledger import append_only
from consent_center.ledger.chain import replay_states, stored_states, verify_chains
from consent_center.ledger import WHILE_RESTRICTED, Actor, LedgerError, RestrictedChannel, record_change
from consent_center.models import Channel, ConsentEvent, ConsentState, Receipt, Subject
from consent_center.models.vocabulary import ActorType, Basis, Source, Status
from consent_center.policies.service import publish_policy
from consent_center.receipts.keys import key_ring
from consent_center.receipts.documents import document_of, verify_receipt
from consent_center.subjects.service import create_subject

EXAMPLES = 50
CHANNELS = ("email", "sms", "post", "newsletter")
START = datetime(2026, 5, 30, 12, 0, tzinfo=timezone.utc)

statuses = st.sampled_from([str(s) for s in Status])
bases = st.one_of(st.none(), st.sampled_from([str(b) for b in Basis]))
change_op = st.tuples(
    st.just("change"),
    st.integers(0, 2),  # which subject
    st.dictionaries(st.sampled_from(CHANNELS), st.tuples(statuses, bases), min_size=1, max_size=4),
    st.sampled_from(list(Source)),
    st.booleans(),  # renew
    st.sampled_from([Actor.system(), Actor(ActorType.ACCOUNT, "7"), Actor(ActorType.API_CLIENT, "3"),
                     Actor(ActorType.SUBJECT, None)]),
)
refused_op = st.tuples(
    st.just("refused"), st.integers(0, 2),
    st.sampled_from([{"no_such_channel": "granted"}, {"email": "maybe"}, {"sms": "granted", "fax": "granted"}]),
)
# The clock stands still (0) or moves forward, by seconds or by weeks (across the policy change).
tick_op = st.tuples(st.just("tick"), st.sampled_from([0, 0, 1, 59, 3600, 86400 * 3, 86400 * 40]))
operations = st.lists(st.one_of(change_op, change_op, refused_op, tick_op), min_size=1, max_size=25)
tampering = st.tuples(st.sampled_from(["edit", "delete", "reorder"]), st.integers(0, 10_000))

_emails = itertools.count()


def counts(session) -> tuple[int, int, int]:
    return tuple(session.scalar(select(func.count()).select_from(m)) for m in (ConsentEvent, ConsentState, Receipt))


def check_recorded(session, subject, recorded, expected: dict, model: dict, now: datetime) -> None:
    """Invariant 1 for one accepted change: its events, its states, its one receipt."""
    if not expected:
        assert recorded.receipt is None and recorded.events == []
        return
    events = recorded.events
    assert [(e.channel.code, e.status) for e in events] == sorted(
        expected.items(), key=lambda item: CHANNELS.index(item[0]))
    assert all(e.receipt_id == recorded.receipt.id and e.occurred_at == now for e in events)
    document = verify_receipt(recorded.receipt.jws, dict(key_ring().public)).document
    assert document == document_of(recorded.receipt)
    assert [(d["id"], d["seq"], d["hash"], d["status"]) for d in document["events"]] == [
        (e.public_id, e.seq, e.hash, e.status) for e in events]
    assert document["piiPrincipalId"] == subject.public_id
    for event in events:
        state = session.get(ConsentState, (subject.id, event.channel_id))
        assert state.event_id == event.id and state.status == event.status
        assert state.basis == model[event.channel.code][1] == event.basis


def check_chain_order(session, subject) -> None:
    events = session.scalars(select(ConsentEvent).where(ConsentEvent.subject_id == subject.id)
                             .order_by(ConsentEvent.id)).all()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(a.occurred_at <= b.occurred_at for a, b in zip(events, events[1:]))
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:]))


def expected_basis(status: str, asked: str | None, previous: tuple[str, str] | None) -> str:
    """The model of the ledger's legal basis rule: a grant over a consent stays a consent."""
    if status == Status.GRANTED and previous == (Status.GRANTED, Basis.CONSENT):
        return Basis.CONSENT
    if asked:
        return asked
    if status == Status.GRANTED:
        return Basis.CONSENT
    return previous[1] if previous else Basis.CONSENT


def is_change(status: str, asked: str | None, previous: tuple[str, str] | None) -> bool:
    """The model of what moves: another status, or a grant over a grant on another basis."""
    if previous is None or previous[0] != status:
        return True
    return status == Status.GRANTED and expected_basis(status, asked, previous) != previous[1]


def tamper_and_verify(session, subject_ids: list[int], how: str, pick: int) -> None:
    """Invariant 3: one edit, deletion or reordering is found at its subject; then undone."""
    rows = session.execute(
        select(ConsentEvent.id, ConsentEvent.subject_id, ConsentEvent.seq)
        .where(ConsentEvent.subject_id.in_(subject_ids)).order_by(ConsentEvent.id)).all()
    referenced = set(session.scalars(select(ConsentState.event_id)))
    if how == "delete":
        rows = [r for r in rows if r.id not in referenced]  # a state's event cannot go (foreign key)
    elif how == "reorder":
        rows = [r for r in rows if r.seq > 1]  # swapped with the event before it
    if not rows:
        return
    target = rows[pick % len(rows)]
    subject_pid = session.get(Subject, target.subject_id).public_id
    with append_only.lifted(session.connection()):
        if how == "edit":
            session.execute(text("UPDATE consent_events SET status = CASE WHEN status = 'granted' "
                                 "THEN 'withdrawn' ELSE 'granted' END WHERE id = :id"), {"id": target.id})
        elif how == "delete":
            session.execute(text("DELETE FROM consent_events WHERE id = :id"), {"id": target.id})
        else:
            params = {"s": target.subject_id, "a": target.seq - 1, "b": target.seq}
            session.execute(text("UPDATE consent_events SET seq = -1 WHERE subject_id = :s AND seq = :a"), params)
            session.execute(text("UPDATE consent_events SET seq = :a WHERE subject_id = :s AND seq = :b"), params)
            session.execute(text("UPDATE consent_events SET seq = :b WHERE subject_id = :s AND seq = -1"), params)
    session.expire_all()
    report = verify_chains(session)
    session.rollback()
    assert not report.ok, (how, target)
    assert report.first_break.subject_public_id == subject_pid, (how, target, str(report.first_break))
    if how == "edit":
        assert report.first_break.event_id == target.id
    assert verify_chains(session).ok  # the rollback undid it all


@pytest.fixture
def policies(session):
    """Two policy versions, the second taking effect during the examples' histories."""
    with freeze_time(START - timedelta(days=1)):
        publish_policy(session, "v1", {"en": "One."}, effective_at=START - timedelta(days=1))
        publish_policy(session, "v2", {"en": "Two."}, effective_at=START + timedelta(days=2))
    session.commit()


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=operations, tamper=tampering)
def test_random_histories_keep_invariants_1_to_3(session, policies, ops, tamper):
    with freeze_time(START) as frozen:
        subjects = [create_subject(session, actor=Actor.system(), email=f"prop{next(_emails)}@example.com",
                                   is_customer=bool(i % 2)) for i in range(3)]
        session.flush()
        model = {s.id: {st_.channel.code: (st_.status, st_.basis)
                        for st_ in session.scalars(select(ConsentState).where(ConsentState.subject_id == s.id))}
                 for s in subjects}
        for op in ops:
            if op[0] == "tick":
                frozen.tick(op[1])
                continue
            subject = subjects[op[1]]
            before = counts(session)
            if op[0] == "refused":
                with pytest.raises(LedgerError):
                    record_change(session, subject, op[2], source=Source.API, actor=Actor.system())
                assert counts(session) == before
                continue
            _, _, wanted, source, renew, actor = op
            changes = {code: status for code, (status, _) in wanted.items()}
            asked = {code: basis for code, (_, basis) in wanted.items() if basis}
            current = model[subject.id]
            expected = {code: status for code, status in changes.items()
                        if renew or is_change(status, asked.get(code), current.get(code))}
            # Invariant: a restricted subject's processing resumes only through the rights flow.
            if source != Source.RESTRICTION and any(status == "restricted" for status, _ in current.values()) and any(
                    status not in WHILE_RESTRICTED and (current.get(code) or (None,))[0] != status
                    for code, status in changes.items()):
                before_refusal = counts(session)
                with pytest.raises(RestrictedChannel):
                    record_change(session, subject, changes, source=source, actor=actor, basis=asked, renew=renew)
                assert counts(session) == before_refusal
                continue
            recorded = record_change(session, subject, changes, source=source, actor=actor, basis=asked, renew=renew)
            for code, status in expected.items():
                current[code] = (status, expected_basis(status, asked.get(code), current.get(code)))
            new_states = sum(1 for e in recorded.events
                             if e.previous_status is None)
            assert counts(session) == (before[0] + len(expected), before[1] + new_states,
                                       before[2] + (1 if expected else 0))
            check_recorded(session, subject, recorded, expected, current, datetime.now(timezone.utc))
        session.commit()

        assert replay_states(session) == stored_states(session)
        by_id = {c.id: c.code for c in session.scalars(select(Channel))}
        for subject in subjects:
            check_chain_order(session, subject)
            stored = {by_id[s.channel_id]: (s.status, s.basis)
                      for s in session.scalars(select(ConsentState).where(ConsentState.subject_id == subject.id))}
            assert stored == model[subject.id]
        assert verify_chains(session).ok
        tamper_and_verify(session, [s.id for s in subjects], *tamper)
