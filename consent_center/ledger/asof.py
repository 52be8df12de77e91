"""Consent as of any moment, read from the ledger alone (never from ConsentState).

The state of a channel at ``at`` is its last event, in chain order, that
occurred at or before ``at``. The auditor's pages and the check API's
``at=`` parameter both ask here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from consent_center.check.answer import Answer, State, consent_answer
from consent_center.check.channels import channel_rules
from consent_center.models import Channel, ConsentEvent, Subject


@dataclass(frozen=True)
class StateAsOf:
    """A channel of a subject at a moment, the event that set it (None: no event yet), and the
    consent answer then (``check.answer.consent_answer``, as the check with ``at=`` gives it)."""

    channel: Channel
    event: ConsentEvent | None
    answer: Answer | None = None

    @property
    def status(self) -> str | None:
        return self.event.status if self.event else None


def replay(events: Iterable[ConsentEvent], at: datetime) -> dict[int, ConsentEvent]:
    """Return {channel_id: last event at or before ``at``} by replaying ``events`` in chain order."""
    states: dict[int, ConsentEvent] = {}
    for event in sorted(events, key=lambda e: (e.subject_id, e.seq)):
        if event.occurred_at <= at:
            states[event.channel_id] = event
    return states


def _last_seq_per_channel(at: datetime, *, subject_id: int | None = None):
    stmt = (
        select(ConsentEvent.subject_id, ConsentEvent.channel_id, func.max(ConsentEvent.seq).label("seq"))
        .where(ConsentEvent.occurred_at <= at)
        .group_by(ConsentEvent.subject_id, ConsentEvent.channel_id)
    )
    if subject_id is not None:
        stmt = stmt.where(ConsentEvent.subject_id == subject_id)
    return stmt.subquery("last_event")


def events_as_of(session: Session, subject: Subject, at: datetime) -> dict[int, ConsentEvent]:
    """Return {channel_id: the event in force at ``at``} for one subject."""
    last = _last_seq_per_channel(at, subject_id=subject.id)
    stmt = select(ConsentEvent).join(
        last, and_(ConsentEvent.subject_id == last.c.subject_id, ConsentEvent.seq == last.c.seq)
    )
    return {event.channel_id: event for event in session.scalars(stmt)}


def event_as_of(session: Session, subject: Subject, channel: Channel, at: datetime) -> ConsentEvent | None:
    """Return the event that set ``channel`` for ``subject`` as of ``at`` (None: never set)."""
    return session.scalars(
        select(ConsentEvent)
        .where(ConsentEvent.subject_id == subject.id, ConsentEvent.channel_id == channel.id,
               ConsentEvent.occurred_at <= at)
        .order_by(ConsentEvent.seq.desc())
        .limit(1)
    ).first()


def states_as_of(session: Session, subject: Subject, at: datetime) -> list[StateAsOf]:
    """Return every channel of the subject as of ``at``, in display order, with the answer then."""
    events = events_as_of(session, subject, at)
    channels = session.scalars(select(Channel).order_by(Channel.position, Channel.code)).all()
    connection = session.connection()

    def state(c: Channel) -> StateAsOf:
        event = events.get(c.id)
        then = State(event.status, event.basis, event.occurred_at) if event else State(None, None, None)
        known = subject.created_at <= at or event is not None
        return StateAsOf(c, event, consent_answer(then if known else None, channel_rules(connection, c.id), at))

    return [state(c) for c in channels if c.active or c.id in events]


def counts_as_of(session: Session, at: datetime) -> dict[str, dict[str, int]]:
    """Return {channel code: {status: subjects}} over the whole base as of ``at``.

    One grouped query: the last event of each subject and channel that
    occurred by ``at`` (the unique (subject, seq) index finds it), counted
    per channel and status.
    """
    last = _last_seq_per_channel(at)
    stmt = (
        select(Channel.code, ConsentEvent.status, func.count())
        .select_from(ConsentEvent)
        .join(last, and_(ConsentEvent.subject_id == last.c.subject_id, ConsentEvent.seq == last.c.seq))
        .join(Channel, Channel.id == ConsentEvent.channel_id)
        .group_by(Channel.code, ConsentEvent.status)
    )
    counts: dict[str, dict[str, int]] = {}
    for code, status, count in session.execute(stmt):
        counts.setdefault(code, {})[status] = count
    return counts
