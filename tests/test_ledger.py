"""Invariants 1 and 2: one write path, whole or absent; replay equals state."""
import json

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consent_center import ledger
from consent_center.receipts import documents as receipts
from consent_center.ledger.chain import replay_states, stored_states, verify_chains
from consent_center.ledger import Actor, LedgerError, RestrictedChannel, record_change
from consent_center.models import ConsentEvent, ConsentState, Receipt, Source, Status
from consent_center.signals import consent_recorded
from consent_center.subjects.service import create_subject


def counts(session):
    return tuple(session.scalar(select(func.count()).select_from(m))
                 for m in (ConsentEvent, ConsentState, Receipt))


def states_of(session, subject):
    return {s.channel.code: (s.status, s.basis) for s in ledger.current_states(session, subject).values()}


def test_new_customer_starts_at_each_channel_default_with_its_honest_basis(session):
    subject = create_subject(session, actor=Actor.system(), email="a@example.com", is_customer=True)
    assert states_of(session, subject) == {
        "email": ("granted", "soft_opt_in"),
        "sms": ("granted", "soft_opt_in"),
        "post": ("granted", "legitimate_interest"),
        "newsletter": ("never_asked", "consent"),
    }
    events = session.scalars(select(ConsentEvent).where(ConsentEvent.subject_id == subject.id)).all()
    assert {e.event_type for e in events} == {"default"}
    assert {e.source for e in events} == {"default"}


def test_a_prospect_gets_no_soft_opt_in(session):
    subject = create_subject(session, actor=Actor.system(), email="p@example.com", is_customer=False)
    states = states_of(session, subject)
    assert states["email"] == ("never_asked", "consent")
    assert states["sms"] == ("never_asked", "consent")
    assert states["post"] == ("granted", "legitimate_interest")


def test_a_change_writes_events_state_and_one_receipt(session):
    subject = create_subject(session, actor=Actor.system(), email="a@example.com", is_customer=True)
    before = counts(session)
    recorded = record_change(session, subject, {"sms": Status.WITHDRAWN, "newsletter": Status.GRANTED},
                             source=Source.CUSTOMER_SPACE, actor=Actor("subject", subject.public_id))
    session.commit()
    assert len(recorded.events) == 2
    assert counts(session) == (before[0] + 2, before[1], before[2] + 1)
    assert {e.receipt_id for e in recorded.events} == {recorded.receipt.id}
    document = json.loads(recorded.receipt.document)
    assert document["consentReceiptID"] == recorded.receipt.public_id
    assert [e["id"] for e in document["events"]] == [e.public_id for e in recorded.events]
    sms = states_of(session, subject)["sms"]
    assert sms == ("withdrawn", "soft_opt_in")
    assert states_of(session, subject)["newsletter"] == ("granted", "consent")


def test_unchanged_channels_produce_no_event_and_no_receipt(session):
    subject = create_subject(session, actor=Actor.system(), email="a@example.com", is_customer=True)
    before = counts(session)
    # The same status on the same basis (a grant on another basis is a change: test_basis_change.py).
    recorded = record_change(session, subject, {"email": Status.GRANTED}, source=Source.API,
                             actor=Actor.system(), basis={"email": "soft_opt_in"})
    assert recorded.receipt is None and recorded.events == []
    assert counts(session) == before


def test_unknown_channel_or_status_is_refused_and_writes_nothing(session):
    subject = create_subject(session, actor=Actor.system(), email="a@example.com", is_customer=True)
    session.commit()
    before = counts(session)
    with pytest.raises(LedgerError, match="unknown channel"):
        record_change(session, subject, {"email": Status.WITHDRAWN, "fax": Status.GRANTED},
                      source=Source.API, actor=Actor.system())
    with pytest.raises(LedgerError, match="unknown status"):
        record_change(session, subject, {"email": "maybe"}, source=Source.API, actor=Actor.system())
    session.rollback()
    assert counts(session) == before


@pytest.mark.parametrize("failing", ["receipt", "after the writes"])
def test_a_failure_halfway_leaves_no_partial_write(client, auth, customer, session, monkeypatch, failing):
    auth.login(customer.email)
    before = counts(session)

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    # The events are built and the receipt fails, or the receipt, events and
    # states are written and what follows them fails: nothing may remain.
    if failing == "receipt":
        monkeypatch.setattr(receipts, "build_document", explode)
    else:
        consent_recorded.connect(explode)
    from .conftest import account_by_email, form_post
    try:
        with pytest.raises(RuntimeError):
            form_post(client, "/space/preferences", {"active": ["email"]})
    finally:
        consent_recorded.disconnect(explode)
    session.rollback()
    assert counts(session) == before
    subject = account_by_email(session, "camille@example.com").subject
    assert states_of(session, subject)["sms"] == ("granted", "soft_opt_in")


def test_events_chain_by_hash_and_sequence(session):
    subject = create_subject(session, actor=Actor.system(), email="a@example.com", is_customer=True)
    for status in ("withdrawn", "granted", "withdrawn"):
        record_change(session, subject, {"email": status}, source=Source.API, actor=Actor.system())
    events = session.scalars(select(ConsentEvent).where(ConsentEvent.subject_id == subject.id)
                             .order_by(ConsentEvent.seq)).all()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash is None
    for previous, event in zip(events, events[1:]):
        assert event.prev_hash == previous.hash
    assert verify_chains(session).ok


def test_event_records_policy_version_in_force_and_server_time(session):
    from datetime import datetime, timezone

    from consent_center.policies.service import publish_policy

    with freeze_time("2026-01-10 09:00:00"):
        publish_policy(session, "v1", {"fr": "texte 1"}, effective_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
        publish_policy(session, "v2", {"fr": "texte 2"}, effective_at=datetime(2026, 3, 1, tzinfo=timezone.utc))
        subject = create_subject(session, actor=Actor.system(), email="a@example.com", is_customer=True)
        first = record_change(session, subject, {"sms": "withdrawn"}, source=Source.API, actor=Actor.system())
    with freeze_time("2026-03-02 10:30:00"):
        second = record_change(session, subject, {"sms": "granted"}, source=Source.API, actor=Actor.system())
    assert first.events[0].policy_version.label == "v1"
    assert second.events[0].policy_version.label == "v2"
    assert second.events[0].occurred_at == datetime(2026, 3, 2, 10, 30, tzinfo=timezone.utc)
    session.commit()
    reloaded = session.get(ConsentEvent, second.events[0].id)
    assert reloaded.occurred_at.tzinfo is not None


def test_replaying_the_ledger_gives_exactly_the_stored_states(session):
    import random

    rng = random.Random(7)
    subjects = [create_subject(session, actor=Actor.system(), email=f"s{i}@example.com",
                               is_customer=bool(i % 2)) for i in range(6)]
    statuses = [s.value for s in Status]
    for _ in range(120):
        subject = rng.choice(subjects)
        changes = {code: rng.choice(statuses) for code in rng.sample(["email", "sms", "post", "newsletter"], 2)}
        try:
            record_change(session, subject, changes, source=rng.choice(list(Source)), actor=Actor.system())
        except RestrictedChannel:
            pass  # refused before anything is written (tests/test_restriction_holds.py)
    session.commit()
    assert replay_states(session) == stored_states(session)
    assert verify_chains(session).ok


def test_what_the_session_holds_matches_what_the_ledger_wrote(session):
    """The ledger writes with Core statements: objects the session already holds must not go stale,
    and what it returns is what is stored (no second INSERT at the next flush)."""
    subject = create_subject(session, actor=Actor.system(), email="a@example.com", is_customer=True)
    held = ledger.current_states(session, subject)  # as a form shows them before a change
    newsletter = next(s for s in held.values() if s.channel.code == "newsletter")
    recorded = record_change(session, subject, {"newsletter": Status.GRANTED, "sms": Status.WITHDRAWN},
                             source=Source.CUSTOMER_SPACE, actor=Actor("subject", subject.public_id))
    assert newsletter.status == "granted" and newsletter.event_id == recorded.events[-1].id
    assert [session.get(ConsentEvent, e.id) for e in recorded.events] == recorded.events
    assert session.get(Receipt, recorded.receipt.id) is recorded.receipt
    assert recorded.events[0].receipt is recorded.receipt and recorded.events[0].channel.code == "sms"
    before = counts(session)
    session.flush()
    session.commit()
    assert counts(session) == before
    assert states_of(session, subject)["newsletter"] == ("granted", "consent")


def test_a_rolled_back_change_leaves_nothing_in_the_session(session):
    """The ledger's objects join the session as stored: a rollback, of a savepoint or of the
    whole transaction, must take them out again, so that the next change can be recorded."""
    subject = create_subject(session, actor=Actor.system(), email="a@example.com", is_customer=True)
    session.commit()
    change = dict(source=Source.CUSTOMER_SPACE, actor=Actor("subject", subject.public_id))
    savepoint = session.begin_nested()
    undone = record_change(session, subject, {"newsletter": Status.GRANTED}, **change)
    held = ledger.current_states(session, subject)  # read inside the savepoint
    savepoint.rollback()
    assert undone.receipt not in session and all(e not in session for e in undone.events)
    assert {s.channel.code: s.status for s in held.values()}["newsletter"] == "never_asked"
    kept = record_change(session, subject, {"sms": Status.WITHDRAWN}, **change)
    session.rollback()
    assert kept.receipt not in session
    again = record_change(session, subject, {"newsletter": Status.GRANTED}, **change)
    session.commit()
    assert again.events[0].seq == 5 and counts(session)[2] == 2  # 4 defaults, then this one
    assert verify_chains(session).ok


def test_a_change_that_changes_nothing_still_shows_the_current_states(session):
    """A state the session held from before another writer's change is read again under the lock."""
    if session.get_bind().dialect.name == "sqlite":
        pytest.skip("SQLite: a transaction that has read holds the write lock, so no writer comes between")
    subject = create_subject(session, actor=Actor.system(), email="a@example.com", is_customer=True)
    session.commit()
    held = ledger.current_states(session, subject)
    sms = next(s for s in held.values() if s.channel.code == "sms")
    assert sms.status == "granted"
    other = Session(bind=session.get_bind())
    try:
        other_subject = other.get(type(subject), subject.id)
        record_change(other, other_subject, {"sms": Status.WITHDRAWN}, source=Source.API, actor=Actor.system())
        other.commit()
    finally:
        other.close()
    recorded = record_change(session, subject, {"sms": Status.WITHDRAWN}, source=Source.API, actor=Actor.system())
    assert recorded.receipt is None and sms.status == "withdrawn"


def test_a_released_savepoint_is_undone_with_its_transaction(session):
    subject = create_subject(session, actor=Actor.system(), email="a@example.com", is_customer=True)
    session.commit()
    with session.begin_nested():
        inner = record_change(session, subject, {"newsletter": Status.GRANTED}, source=Source.API,
                              actor=Actor.system())
    session.rollback()
    assert inner.receipt not in session
    kept = record_change(session, subject, {"newsletter": Status.GRANTED}, source=Source.API, actor=Actor.system())
    session.commit()
    assert kept.receipt in session and kept.events[0].seq == 5


def test_one_change_moves_a_state_and_starts_another(session):
    """A channel added after the subject has no state: one change then both moves a state and
    starts one (on PostgreSQL, both in the one statement that writes the change)."""
    from consent_center.policies.channels import create_channel

    subject = create_subject(session, actor=Actor.system(), email="a@example.com", is_customer=True)
    create_channel(session, code="phone", names={"en": "Phone"}, purposes={"en": "Calls"},
                   default_status="never_asked", default_basis="consent", validity_months=None)
    session.commit()
    assert "phone" not in states_of(session, subject)
    recorded = record_change(session, subject, {"phone": Status.GRANTED, "sms": Status.WITHDRAWN},
                             source=Source.API, actor=Actor.system())
    session.commit()
    session.expire_all()
    stored = ledger.current_states(session, subject)
    by_channel = {event.channel.code: event for event in recorded.events}
    for code, status in (("phone", "granted"), ("sms", "withdrawn")):
        state = next(s for s in stored.values() if s.channel.code == code)
        assert (state.status, state.event_id) == (status, by_channel[code].id)
        assert session.get(ConsentEvent, by_channel[code].id).channel.code == code
    assert replay_states(session) == stored_states(session)
    assert verify_chains(session).ok


def test_one_statement_gives_event_ids_in_seq_order_whatever_order_the_rows_come_in(session):
    """``ledger verify`` reads ids out of seq order as a reordered chain: PostgreSQL's one
    statement orders the events by seq itself, not by the order of its bound rows."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the one-statement write is PostgreSQL's; SQLite inserts the rows in the order given")
    from consent_center.ledger.writes import _EVENT_COLUMNS, _RECEIPT_COLUMNS, _pg_write

    subject = create_subject(session, actor=Actor.system(), email="a@example.com", is_customer=True)
    session.commit()
    first, second = session.scalars(select(ConsentEvent).where(ConsentEvent.subject_id == subject.id)
                                    .order_by(ConsentEvent.seq).limit(2)).all()
    receipt = session.get(Receipt, first.receipt_id)
    params = {f"r_{name}": getattr(receipt, name) for name in _RECEIPT_COLUMNS}
    params.update(subject_id=subject.id, r_public_id="00000000-0000-4000-8000-000000000001")
    # Event 0 of the statement has the higher seq.
    for i, (template, seq) in enumerate(((first, 6), (second, 5))):
        params.update({f"e{i}_{name}": getattr(template, name) for name in _EVENT_COLUMNS})
        params.update({f"e{i}_seq": seq, f"e{i}_public_id": f"00000000-0000-4000-8000-00000000001{i}"})
    written = session.connection().execute(_pg_write(2), params).all()
    ids = {channel_id: event_id for _, event_id, channel_id in written}
    assert ids[second.channel_id] < ids[first.channel_id]
    session.rollback()
