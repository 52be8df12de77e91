"""A realistic base for benchmarks, written fast through the app's own tables.

N customers (``user{i}@example.com``, as the floor benchmark seeds them),
each starting at the channel defaults, then random changes until about M
events in all, ending in the floor's expected states (~60 % granted), so
answers can be checked against the floor's. Hash chains are computed with
the ledger's own functions (``ledger verify`` passes); states are the
replay of the events. Bulk inserts in batches, ids assigned here; on
PostgreSQL the sequences are moved past them. Receipts are compact
historical records (unsigned), as an import of an older system's history
would leave them.
"""
from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Callable

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from consent_center.ledger.chain import event_hash, hashed_fields
from consent_center.models import Channel, ConsentEvent, ConsentState, PolicyVersion, Receipt, Subject
from consent_center.models.vocabulary import ActorType, EventType, Source, Status
from consent_center.policies.service import publish_policy

BASE_TIME = datetime(2024, 1, 1, tzinfo=timezone.utc)
POLICIES = (("2023-06", datetime(2023, 6, 1, tzinfo=timezone.utc)),
            ("2024-01", datetime(2024, 1, 1, tzinfo=timezone.utc)),
            ("2024-09", datetime(2024, 9, 1, tzinfo=timezone.utc)))
BENCH_CHANNELS = ("email", "sms", "post", "newsletter")
BATCH = 5000


class SeedError(ValueError):
    """The base cannot be seeded here (not empty, channels missing)."""


def email_of(i: int) -> str:
    return f"user{i}@example.com"


def expected_granted(i: int, channel: str) -> bool:
    """The floor benchmark's final states (seed_floor.expected_granted)."""
    return (i * 31 + BENCH_CHANNELS.index(channel) * 17) % 5 < 3


def seed(session: Session, subjects: int, events: int, *, progress: Callable[[int], None] | None = None,
         rng_seed: int = 42) -> dict:
    """Write the base; return counts. The session's engine must hold an empty ledger."""
    if session.scalar(select(func.count()).select_from(Subject)):
        raise SeedError("the database already has subjects: seed an empty one (db upgrade on a new file)")
    channels = {c.code: c for c in session.scalars(select(Channel).where(Channel.code.in_(BENCH_CHANNELS)))}
    if set(channels) != set(BENCH_CHANNELS):
        raise SeedError("the four seeded channels are missing: run db upgrade")
    policies = [publish_policy(session, label, {"en": f"Policy {label}."}, effective_at=at) for label, at in POLICIES]
    session.flush()
    rng = random.Random(rng_seed)
    # Four defaults each, and about two closing toggles to reach the expected states.
    extra_total = max(events - 6 * subjects, 0)
    per_subject = extra_total / subjects if subjects else 0
    writer = _Writer(session)
    ids = SimpleNamespace(event=0, receipt=0)
    clock = SimpleNamespace(t=BASE_TIME)
    for i in range(1, subjects + 1):
        public_id = "%024x" % rng.getrandbits(96)
        writer.subjects.append({"id": i, "public_id": public_id, "email": email_of(i), "locale": "fr",
                                "is_customer": True, "created_at": BASE_TIME, "updated_at": BASE_TIME})
        chain = _Chain(i, public_id, writer, ids, channels)
        chain.submit({code: c.default_for(True) for code, c in channels.items()}, Source.DEFAULT,
                     EventType.DEFAULT, _policy_at(policies, clock.t), clock.t)
        budget = int(per_subject) + (1 if rng.random() < per_subject - int(per_subject) else 0)
        for _ in range(budget):
            clock.t += timedelta(seconds=7)
            code = rng.choice(BENCH_CHANNELS)
            chain.toggle(code, _policy_at(policies, clock.t), clock.t)
        for code in BENCH_CHANNELS:  # end in the floor's expected state
            if (chain.status[code] == Status.GRANTED) != expected_granted(i, code):
                clock.t += timedelta(seconds=7)
                chain.toggle(code, _policy_at(policies, clock.t), clock.t)
        writer.states.extend(chain.final_states())
        if len(writer.events) >= BATCH:
            writer.flush()
        if progress:
            progress(1)
    writer.flush()
    _move_sequences(session)
    return {"subjects": subjects, "events": ids.event, "receipts": ids.receipt}


def _policy_at(policies: list[PolicyVersion], moment: datetime) -> PolicyVersion:
    return [p for p in policies if p.effective_at <= moment][-1]


class _Chain:
    """One subject's hash chain as it is built."""

    def __init__(self, subject_id, public_id, writer, ids, channels):
        self.subject_id, self.public_id, self.writer, self.ids = subject_id, public_id, writer, ids
        self.channels = channels
        self.seq, self.head = 0, None
        self.status: dict[str, str] = {}
        self.basis: dict[str, str] = {}
        self.last_event: dict[str, tuple[int, datetime, int]] = {}

    def toggle(self, code, policy, moment):
        new = Status.WITHDRAWN if self.status[code] == Status.GRANTED else Status.GRANTED
        kind = EventType.GIVEN if new == Status.GRANTED else EventType.WITHDRAWN
        basis = "consent" if new == Status.GRANTED else self.basis[code]
        self.submit({code: (new, basis)}, Source.CUSTOMER_SPACE, kind, policy, moment)

    def submit(self, changes, source, event_type, policy, moment):
        self.ids.receipt += 1
        receipt_id, receipt_public = self.ids.receipt, str(uuid.UUID(int=self.ids.receipt))
        hashes = []
        for code, (status, basis) in changes.items():
            self.ids.event += 1
            self.seq += 1
            event = SimpleNamespace(
                public_id=str(uuid.UUID(int=(1 << 64) + self.ids.event)), seq=self.seq, status=str(status),
                previous_status=self.status.get(code), basis=str(basis), event_type=str(event_type),
                source=str(source), actor_type=ActorType.SUBJECT if source != Source.DEFAULT else ActorType.SYSTEM,
                actor_id=self.public_id if source != Source.DEFAULT else None, occurred_at=moment,
                evidence=None, trace=None, prev_hash=self.head)
            event.hash = event_hash(hashed_fields(event, subject_public_id=self.public_id, channel_code=code,
                                                  policy_label=policy.label, receipt_public_id=receipt_public))
            self.head = event.hash
            self.status[code], self.basis[code] = str(status), str(basis)
            self.last_event[code] = (self.ids.event, moment, policy.id)
            hashes.append({"id": event.public_id, "seq": event.seq, "hash": event.hash})
            self.writer.events.append({
                "id": self.ids.event, "subject_id": self.subject_id, "channel_id": self.channels[code].id,
                "receipt_id": receipt_id, "policy_version_id": policy.id, **{
                    k: getattr(event, k) for k in ("public_id", "seq", "status", "previous_status", "basis",
                                                   "event_type", "source", "actor_type", "actor_id",
                                                   "occurred_at", "evidence", "trace", "prev_hash", "hash")}})
        document = {"version": "KI-CR-v1.1.0", "consentReceiptID": receipt_public,
                    "consentTimestamp": int(moment.timestamp()), "piiPrincipalId": self.public_id,
                    "collectionMethod": str(source), "policyVersion": {"label": policy.label}, "events": hashes}
        self.writer.receipts.append({"id": receipt_id, "public_id": receipt_public, "subject_id": self.subject_id,
                                     "issued_at": moment, "document": json.dumps(document, sort_keys=True),
                                     "jws": None, "language": "fr"})

    def final_states(self):
        for code, (event_id, moment, policy_id) in self.last_event.items():
            yield {"subject_id": self.subject_id, "channel_id": self.channels[code].id, "status": self.status[code],
                   "basis": self.basis[code], "event_id": event_id, "policy_version_id": policy_id,
                   "changed_at": moment}


class _Writer:
    def __init__(self, session: Session):
        self.session = session
        self.subjects, self.receipts, self.events, self.states = [], [], [], []

    def flush(self):
        for table, rows in ((Subject, self.subjects), (Receipt, self.receipts),
                            (ConsentEvent, self.events), (ConsentState, self.states)):
            if rows:
                self.session.execute(insert(table.__table__), rows)
                rows.clear()


def _move_sequences(session: Session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ("subjects", "receipts", "consent_events"):
        session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
