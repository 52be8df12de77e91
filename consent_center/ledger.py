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

from sqlalchemy import select
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


def lock_subject(session: Session, subject: Subject) -> None:
    """Serialise writers of one subject (row lock on PostgreSQL).

    SQLite needs nothing more: every writing transaction there starts with
    BEGIN IMMEDIATE and holds the database's single write lock.
    """
    if session.get_bind().dialect.name != "sqlite":
        session.execute(select(Subject.id).where(Subject.id == subject.id).with_for_update())


def _states_and_head(session: Session, subject: Subject) -> tuple[dict[int, ConsentState], int, str | None]:
    """Return the subject's states and its chain head (seq, hash) in one query.

    Every event moves its channel's state, so the newest event of the chain
    is the one the most recently moved state points to.
    """
    rows = session.execute(
        select(ConsentState, ConsentEvent.seq, ConsentEvent.hash)
        .join(ConsentEvent, ConsentEvent.id == ConsentState.event_id)
        .where(ConsentState.subject_id == subject.id)
    ).all()
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
    channels = {
        c.code: c for c in session.scalars(select(Channel).where(Channel.code.in_(list(changes))))
    }
    unknown = sorted(set(changes) - channels.keys())
    if unknown:
        raise LedgerError(f"unknown channel: {', '.join(unknown)}")

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
            policy_version_id=policy.id if policy else None,
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
    state.policy_version_id = event.policy_version_id
    state.changed_at = event.occurred_at
