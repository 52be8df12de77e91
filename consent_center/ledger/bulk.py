"""The ledger's bulk write path: many submissions, of many subjects, in one transaction.

``record_many`` records what as many ``record_change`` calls would, in the
caller's transaction: for each submission the events chained on the
subject's hash chain (the same ``chain_events``), one signed receipt (the
same ``signed_receipt``), the states moved, and ``consents_recorded`` sent once a chunk.
What differs is only how it is written: submissions are taken in chunks;
for each chunk the subjects not seen yet are locked (PostgreSQL) and their
chain heads and states read in one query, and the receipts, events and
states are written with a few statements (``ledger.writes.write_many``:
COPY on PostgreSQL). Chain heads and states are then carried in
memory from one chunk to the next: the iterable must not itself write
consent in between.

``Submission.at`` is the moment of a submission (``now`` by default): a
benchmark base or an older system's history is recorded at its own
moments. The policy in force at that moment, and its text in the subject's
language, are what the receipt names, as ``record_change`` names those of
now. Moments must not go back along a subject's chain.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import islice
from typing import Callable, Iterable, Mapping, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from consent_center.clock import utcnow
from consent_center.ledger import (
    Actor, LedgerError, UnknownChannel, chain_events, check_statuses, locked_subjects, signed_receipt,
)
from consent_center.ledger.changes import HeldState
from consent_center.ledger.writes import expire_held_states, write_many
from consent_center.models import Channel, ConsentEvent, ConsentState, PolicyVersion, Subject
from consent_center.models.vocabulary import EventType, Source
from consent_center.receipts.documents import language_of
from consent_center.signals import consents_recorded
from consent_center.ledger import default_changes
from consent_center.models import Receipt

_events = ConsentEvent.__table__
_states = ConsentState.__table__


class SubjectLike(Protocol):
    """What the ledger reads of a subject: a ``Subject``, or any object with these."""

    id: int
    public_id: str
    locale: str | None


@dataclass(frozen=True)
class Submission:
    """One submission, as ``record_change`` takes it."""

    subject: SubjectLike
    changes: Mapping[str, str]
    source: Source
    actor: Actor
    basis: Mapping[str, str] | None = None
    evidence: dict | None = None
    trace: dict | None = None
    renew: bool = False
    event_type: EventType | None = None
    at: datetime | None = None


@dataclass
class BulkRecorded:
    """What one ``record_many`` call wrote (counts only: the objects do not stay in memory)."""

    submissions: int = 0
    receipts: int = 0
    events: int = 0


class _Head:
    """A subject's chain as the bulk path carries it: its head and its states."""

    __slots__ = ("seq", "hash", "at", "states", "stored", "erased", "restricted")

    def __init__(self) -> None:
        self.seq, self.hash, self.at = 0, None, None
        self.erased = self.restricted = False
        self.states: dict[int, HeldState] = {}
        self.stored: set[int] = set()  # channel ids whose state is already written


def default_submission(subject: Subject, channels: Iterable[Channel], *, actor: Actor,
                       trace: dict | None = None) -> Submission:
    """A new subject's starting states on ``channels`` (the active ones), as ``record_defaults`` records them."""
    changes, bases = default_changes(channels, subject.is_customer)
    return Submission(subject, changes, source=Source.DEFAULT, actor=actor, basis=bases, trace=trace,
                      event_type=EventType.DEFAULT)


def record_many(
    session: Session, submissions: Iterable[Submission], *, chunk: int = 1000,
    progress: Callable[[int], None] | None = None,
    each: Callable[[Submission, Receipt | None], None] | None = None,
    refused: Callable[[Submission, LedgerError], None] | None = None,
) -> BulkRecorded:
    """Record every submission, in order; nothing is committed (the caller commits once).

    Raises ``LedgerError`` (``UnknownChannel``, ``ErasedSubject``…) as ``record_change`` does;
    the caller then rolls back, and none of it exists. With ``refused``, a
    submission the ledger refuses (``RestrictedChannel``, ``ErasedSubject``…) is handed to it
    instead, and the others go on: a refusal writes nothing, as with
    ``record_change``. ``each`` hears every recorded submission with its
    receipt (None: it changed nothing), once its chunk is written.
    """
    session.flush()  # subjects the caller added exist before the Core statements
    channels = {c.code: c for c in session.scalars(select(Channel))}
    policies = _Policies(session)
    heads: dict[int, _Head] = {}
    done = BulkRecorded()
    iterator = iter(submissions)
    while batch := list(islice(iterator, chunk)):
        _read_heads(session, {s.subject.id for s in batch} - heads.keys(), heads)
        receipts, rows, states, recorded, outcomes = [], [], {}, [], []
        for submission in batch:
            try:
                receipt, events, event_rows = _one(submission, heads[submission.subject.id], channels, policies)
            except LedgerError as refusal:
                if refused is None:
                    raise
                refused(submission, refusal)
                continue
            done.submissions += 1
            outcomes.append((submission, receipt))
            if receipt is None:
                continue
            receipts.append(receipt)
            rows.append(event_rows)
            head = heads[submission.subject.id]
            for row in event_rows:
                key = (row["subject_id"], row["channel_id"])
                states[key] = (row, row["channel_id"] in head.stored)
            recorded.append((submission.subject, receipt, events))
        write_many(session, receipts, rows, states)
        for subject_id, channel_id in states:
            heads[subject_id].stored.add(channel_id)
        for subject, receipt, events in recorded:
            for event in events:
                event.receipt_id, event.receipt = receipt.id, receipt
            done.receipts += 1
            done.events += len(events)
        if recorded:
            consents_recorded.send(session, recorded=recorded)
        for subject in {s.subject.id: s.subject for s in batch}.values():
            expire_held_states(session, subject, heads[subject.id].stored)
        if each:
            for submission, receipt in outcomes:
                each(submission, receipt)
        if progress:
            progress(len(batch))
    return done


def _one(submission: Submission, head: _Head, channels: dict[str, Channel], policies: _Policies):
    changes = submission.changes
    if not changes:
        return None, [], []
    check_statuses(changes)
    unknown = sorted(set(changes) - channels.keys())
    if unknown:
        raise UnknownChannel(unknown)
    now = _moment_of(submission)
    if head.at is not None and now < head.at:
        raise LedgerError(f"a submission of subject {submission.subject.public_id} goes back in time")
    subject = submission.subject
    policy = policies.in_force(now)
    receipt_public_id = str(uuid.uuid4())
    events, rows, seq, prev_hash = chain_events(
        subject, changes, channels, head.states, head.seq, head.hash, policy, now, receipt_public_id,
        source=submission.source, actor=submission.actor, basis=submission.basis, evidence=submission.evidence,
        trace=submission.trace, renew=submission.renew, event_type=submission.event_type, erased=head.erased,
        restricted=head.restricted)
    if not events:
        return None, [], []
    asked = [channels[code] for code in changes]
    receipt = signed_receipt(receipt_public_id, subject, submission.source, events, asked, policy,
                             policy.text(language_of(subject)) if policy else None, now)
    head.seq, head.hash, head.at = seq, prev_hash, now
    for row in rows:
        head.states[row["channel_id"]] = HeldState(row["status"], row["basis"])
    return receipt, events, rows


def _moment_of(submission: Submission) -> datetime:
    """The submission's moment in UTC, as its events are hashed and stored (``now`` without one)."""
    if submission.at is None:
        return utcnow()
    if submission.at.tzinfo is None or submission.at.utcoffset() is None:
        raise LedgerError(f"a submission of subject {submission.subject.public_id} gives a moment without its "
                          "time zone")
    return submission.at.astimezone(timezone.utc)


def _read_heads(session: Session, subject_ids: set[int], heads: dict[int, _Head]) -> None:
    """Lock the subjects (PostgreSQL) and see which were erased, then read their states and chain heads."""
    if not subject_ids:
        return
    ordered = sorted(subject_ids)
    subjects = (select(Subject.id, Subject.erased_at, Subject.restricted_at)
                .where(Subject.id.in_(ordered)).order_by(Subject.id))
    locks = session.get_bind().dialect.name != "sqlite"
    if locks:
        # In id order, as every bulk writer takes them: two chunks never wait on each other in a cycle.
        # Locks last to the commit, so two bulks meeting the same subjects in other chunks could:
        # imports take turns (subjects.importer), and the bench's seeders never share a subject.
        subjects = subjects.with_for_update()
    marks = session.execute(subjects).all()
    erased = {subject_id for subject_id, erased_at, _ in marks if erased_at is not None}
    restricted = {subject_id for subject_id, _, restricted_at in marks if restricted_at is not None}
    if locks:
        locked_subjects(session).update(ordered)
    for subject_id in ordered:
        heads[subject_id] = _Head()
        heads[subject_id].erased = subject_id in erased
        heads[subject_id].restricted = subject_id in restricted
    rows = session.execute(
        select(_states.c.subject_id, _states.c.channel_id, _states.c.status, _states.c.basis,
               _events.c.seq, _events.c.hash, _events.c.occurred_at)
        .join(_events, _events.c.id == _states.c.event_id)
        .where(_states.c.subject_id.in_(ordered)))
    for subject_id, channel_id, status, basis, seq, hash_, occurred_at in rows:
        head = heads[subject_id]
        head.states[channel_id] = HeldState(status, basis)
        head.stored.add(channel_id)
        # Every event moves its channel's state: the newest event is the head.
        if seq > head.seq:
            head.seq, head.hash, head.at = seq, hash_, occurred_at


class _Policies:
    """The policy versions, read once: the one in force at a moment, as ``policies.service`` orders them
    (latest effective, the last published among equals)."""

    def __init__(self, session: Session) -> None:
        self.versions = sorted(
            session.scalars(select(PolicyVersion).options(selectinload(PolicyVersion.texts))),
            key=lambda v: (v.effective_at, v.id))

    def in_force(self, at: datetime) -> PolicyVersion | None:
        found = None
        for version in self.versions:
            if version.effective_at > at:
                break
            found = version
        return found
