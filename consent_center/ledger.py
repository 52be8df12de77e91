"""THE write path for consent: nothing else writes events or states.

``record_change`` takes one submitted change of one or more channels and,
inside the caller's transaction, appends the events to the subject's hash
chain, moves ConsentState, and writes one signed Receipt — then flushes. The
caller commits once (or rolls back, and none of it exists).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Mapping

from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Session

from . import receipts
from .chain import event_hash, hashed_fields
from .clock import utcnow
from .models import Channel, ConsentEvent, ConsentState, Receipt, Subject
from .models.vocabulary import ActorType, Basis, EventType, Source, Status
from .policies import policy_in_force
from .signals import consent_recorded


class LedgerError(ValueError):
    """A change the ledger refuses; nothing was written."""


class UnknownChannel(LedgerError):
    """A change names a channel the center does not have."""

    def __init__(self, codes: list[str]) -> None:
        super().__init__(f"unknown channel: {', '.join(codes)}")
        self.codes = codes


@dataclass(frozen=True)
class Actor:
    """Who made a change: the subject, a staff account, an API client, the system."""

    type: ActorType
    id: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorType.SYSTEM)


@dataclass
class Recorded:
    """What one call wrote: the receipt (None when nothing changed) and events."""

    receipt: Receipt | None
    events: list[ConsentEvent] = field(default_factory=list)


_EVENT_TYPES = {
    Status.GRANTED: EventType.GIVEN,
    Status.WITHDRAWN: EventType.WITHDRAWN,
    Status.REFUSED: EventType.REFUSED,
    Status.EXPIRED: EventType.EXPIRED,
    Status.RESTRICTED: EventType.RESTRICTED,
    Status.NEVER_ASKED: EventType.DEFAULT,
}


# Built once: composing a statement costs more Python than running it on
# PostgreSQL, and every consent change runs these.
_LOCK_SUBJECT = select(Subject.id).where(Subject.id == bindparam("subject_id")).with_for_update()
_SUBJECT_FOR_CHANGE = select(Subject).where(Subject.public_id == bindparam("public_id"))
_CHANNELS_BY_CODE = select(Channel).where(Channel.code.in_(bindparam("codes", expanding=True)))
# populate_existing: states the caller loaded before the lock (the preference
# form shows them first) are refreshed from this read, made under the lock.
_STATES_AND_HEAD = (
    select(ConsentState, ConsentEvent.seq, ConsentEvent.hash)
    .join(ConsentEvent, ConsentEvent.id == ConsentState.event_id)
    .where(ConsentState.subject_id == bindparam("subject_id"))
    .execution_options(populate_existing=True)
)


_LOCKED = "consent_locked_subjects"  # in Session.info: ids locked by this transaction


def lock_subject(session: Session, subject: Subject) -> None:
    """Serialise writers of one subject (row lock on PostgreSQL), once per transaction.

    SQLite needs nothing more: every writing transaction there starts with
    BEGIN IMMEDIATE and holds the database's single write lock.
    """
    if session.get_bind().dialect.name == "sqlite":
        return
    locked = session.info.setdefault(_LOCKED, set())
    if subject.id not in locked:
        session.execute(_LOCK_SUBJECT, {"subject_id": subject.id})
        locked.add(subject.id)


def find_subject_for_change(session: Session, public_id: str) -> Subject | None:
    """Find a subject and lock it in the same query, for a change about to be recorded."""
    stmt = _SUBJECT_FOR_CHANGE
    if session.get_bind().dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    subject = session.scalars(stmt, {"public_id": public_id}).first()
    if subject is not None and stmt is not _SUBJECT_FOR_CHANGE:
        session.info.setdefault(_LOCKED, set()).add(subject.id)
    return subject


@event.listens_for(Session, "after_transaction_end")
def _locks_end_with_the_transaction(session: Session, transaction) -> None:
    if transaction.parent is None:  # not a savepoint
        session.info.pop(_LOCKED, None)


def _states_and_head(session: Session, subject: Subject) -> tuple[dict[int, ConsentState], int, str | None]:
    """Return the subject's states and its chain head (seq, hash) in one query.

    Every event moves its channel's state, so the newest event of the chain
    is the one the most recently moved state points to.
    """
    rows = session.execute(_STATES_AND_HEAD, {"subject_id": subject.id}).all()
    states = {state.channel_id: state for state, _, _ in rows}
    if not rows:
        return states, 0, None
    _, seq, head_hash = max(rows, key=lambda row: row.seq)
    return states, seq, head_hash


def current_states(session: Session, subject: Subject) -> dict[int, ConsentState]:
    rows = session.scalars(select(ConsentState).where(ConsentState.subject_id == subject.id))
    return {state.channel_id: state for state in rows}


def record_change(
    session: Session,
    subject: Subject,
    changes: Mapping[str, str],
    *,
    source: Source,
    actor: Actor,
    basis: Mapping[str, str] | None = None,
    evidence: dict | None = None,
    trace: dict | None = None,
    renew: bool = False,
    event_type: EventType | None = None,
) -> Recorded:
    """Record one submission: ``changes`` maps channel code to new status.

    Channels whose status does not change produce no event, unless
    ``renew`` (a re-confirmation under a new policy version) is set.
    """
    if not changes:
        return Recorded(None)
    statuses = {str(s) for s in Status}
    for code, status in changes.items():
        if status not in statuses:
            raise LedgerError(f"unknown status {status!r} for channel {code!r}")

    lock_subject(session, subject)
    channels = {c.code: c for c in session.scalars(_CHANNELS_BY_CODE, {"codes": list(changes)})}
    unknown = sorted(set(changes) - channels.keys())
    if unknown:
        raise UnknownChannel(unknown)

    states, seq, prev_hash = _states_and_head(session, subject)
    now = utcnow()
    policy = policy_in_force(session, now)

    receipt = Receipt(public_id=str(uuid.uuid4()), subject_id=subject.id, issued_at=now)
    events: list[ConsentEvent] = []
    for code in sorted(changes, key=lambda c: (channels[c].position, c)):
        channel, status = channels[code], changes[code]
        state = states.get(channel.id)
        previous = state.status if state else None
        if previous == status and not renew:
            continue
        seq += 1
        event = ConsentEvent(
            public_id=str(uuid.uuid4()),
            subject_id=subject.id,
            seq=seq,
            channel_id=channel.id,
            status=status,
            previous_status=previous,
            basis=_basis_for(status, (basis or {}).get(code), state),
            event_type=event_type or (EventType.RENEWED if renew and previous == status
                                      else _EVENT_TYPES[Status(status)]),
            source=source,
            actor_type=actor.type,
            actor_id=actor.id,
            policy_version=policy,
            occurred_at=now,
            evidence=evidence,
            trace=trace,
            prev_hash=prev_hash,
        )
        event.hash = event_hash(hashed_fields(
            event, subject_public_id=subject.public_id, channel_code=code,
            policy_label=policy.label if policy else None, receipt_public_id=receipt.public_id,
        ))
        prev_hash = event.hash
        events.append(event)

    if not events:
        return Recorded(None)

    by_id = {c.id: c for c in channels.values()}
    document = receipts.build_document(
        receipt_public_id=receipt.public_id, subject=subject, source=source,
        events=events, channels=by_id, policy=policy,
    )
    receipt.document = receipts.serialise(document)
    receipt.jws = receipts.sign(receipt.document)
    receipt.language = document["language"]
    session.add(receipt)
    for event in events:
        # Relationships let one flush insert receipt, events, then states.
        event.receipt = receipt
        session.add(event)
        _move_state(session, states.get(event.channel_id), subject, event)
    session.flush()
    consent_recorded.send(session, subject=subject, receipt=receipt, events=events)
    return Recorded(receipt, events)


def record_defaults(
    session: Session, subject: Subject, *, actor: Actor, trace: dict | None = None,
    source: Source = Source.DEFAULT,
) -> Recorded:
    """Record every active channel's starting state for a new subject."""
    channels = session.scalars(select(Channel).where(Channel.active.is_(True))).all()
    changes, bases = {}, {}
    for channel in channels:
        changes[channel.code], bases[channel.code] = channel.default_for(subject.is_customer)
    return record_change(
        session, subject, changes, source=source, actor=actor, basis=bases, trace=trace,
        event_type=EventType.DEFAULT,
    )


def _basis_for(status: str, asked: str | None, state: ConsentState | None) -> str:
    if asked:
        if asked not in {str(b) for b in Basis}:
            raise LedgerError(f"unknown legal basis {asked!r}")
        return asked
    if status == Status.GRANTED:
        return Basis.CONSENT
    # A withdrawal or expiry ends whatever basis the channel rested on.
    return state.basis if state else Basis.CONSENT


def _move_state(session: Session, state: ConsentState | None, subject: Subject, event: ConsentEvent) -> None:
    if state is None:
        state = ConsentState(subject_id=subject.id, channel_id=event.channel_id)
        session.add(state)
    state.status = event.status
    state.basis = event.basis
    state.event = event
    # The objects, not their ids: reading them back costs no query.
    state.policy_version = event.policy_version
    state.changed_at = event.occurred_at
