"""Consent validity: grants older than their channel's validity expire; reminders come first.

A consent given on a channel with a validity (e.g. 24 months) lapses that
long after it was given or last renewed. Only consent lapses: legitimate
interest and the soft opt-in do not rest on a consent that could age.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Iterable

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from consent_center.clock import utcnow
from consent_center.ledger import Actor, Recorded, current_states, record_change
from consent_center.outbox.mail.messages import enqueue_email
from consent_center.check.answer import add_months, lapses_at, validity_elapsed
from consent_center.models import Channel, ConsentState, ExpiryReminder, Subject
from consent_center.models.vocabulary import ActorType, Basis, EventType, Source, Status


# A month's end clamps the day (31 Mar - 1 month = 28 Feb), so the newest grant
# that has lapsed may be up to three days younger than ``add_months(now, -m)``:
# the query looks that much further, and ``validity_elapsed`` decides.
_CLAMP_SLACK = timedelta(days=3)


@dataclass
class ExpiryRun:
    """What one run did."""

    expired: int = 0
    reminded: int = 0
    subjects: set[int] = field(default_factory=set)


def _grants_given_before(session: Session, channel: Channel, cutoff: datetime, *, unreminded: bool = False):
    stmt = (
        select(ConsentState, Subject)
        .join(Subject, Subject.id == ConsentState.subject_id)
        .where(ConsentState.channel_id == channel.id, ConsentState.status == Status.GRANTED,
               ConsentState.basis == Basis.CONSENT, ConsentState.changed_at <= cutoff)
        .order_by(ConsentState.subject_id)
    )
    if unreminded:
        stmt = stmt.where(~exists().where(ExpiryReminder.event_id == ConsentState.event_id))
    return session.execute(stmt).all()


def _channels_with_validity(session: Session) -> list[Channel]:
    return list(session.scalars(select(Channel).where(Channel.validity_months.is_not(None))
                                .order_by(Channel.position, Channel.code)))


def expire_grants(session: Session, *, progress: Callable[[Iterable], Iterable] = lambda rows: rows) -> ExpiryRun:
    """Record an expiry through the ledger for every grant past its channel's validity."""
    run = ExpiryRun()
    now = utcnow()
    due: dict[int, tuple[Subject, list[str]]] = {}
    for channel in _channels_with_validity(session):
        cutoff = add_months(now, -channel.validity_months) + _CLAMP_SLACK
        for state, subject in _grants_given_before(session, channel, cutoff):
            if validity_elapsed(state.changed_at, channel.validity_months, now):
                due.setdefault(subject.id, (subject, []))[1].append(channel.code)
    for subject, codes in progress(list(due.values())):
        recorded = record_change(session, subject, {code: Status.EXPIRED for code in codes},
                                 source=Source.EXPIRY, actor=Actor.system(),
                                 evidence={"reason": "validity_elapsed"})
        run.expired += len(recorded.events)
        run.subjects.add(subject.id)
    return run


def send_reminders(session: Session, *, days_before: int) -> ExpiryRun:
    """Queue one e-mail per person for grants expiring within ``days_before`` days, once per grant."""
    run = ExpiryRun()
    now = utcnow()
    horizon = now + timedelta(days=days_before)
    found: dict[int, tuple[Subject, list]] = {}
    for channel in _channels_with_validity(session):
        cutoff = add_months(horizon, -channel.validity_months) + _CLAMP_SLACK
        for state, subject in _grants_given_before(session, channel, cutoff, unreminded=True):
            expires_at = add_months(state.changed_at, channel.validity_months)
            if not (now < expires_at <= horizon) or not subject.email:
                continue
            found.setdefault(subject.id, (subject, []))[1].append((channel, state, expires_at))
    for subject, grants in found.values():
        locale = subject.locale or "fr"
        enqueue_email(session, topic="expiry_reminder", to=subject.email, locale=locale, name=subject.name,
                      subject=subject.public_id, email=subject.email,
                      channels=[{"names": c.names, "expires_at": at.isoformat()} for c, _, at in grants])
        for _, state, _ in grants:
            session.add(ExpiryReminder(event_id=state.event_id, sent_at=now))
            run.reminded += 1
        run.subjects.add(subject.id)
    session.flush()
    return run


def renew_consent(session: Session, subject: Subject, code: str, *, source: Source, account_id: int | None,
                  trace: dict, seen_seq: int | None = None) -> Recorded:
    """Record the person's confirmation of a consent that lapses: its validity starts again.

    Before the lapse it is a renewal (DPV ``RenewedConsentGiven``); after it
    (the expiry job not run yet) a consent given again. Only a consent that
    lapses can be confirmed: anything else records nothing. ``seen_seq``,
    the sequence number of the event the page showed, makes it a
    confirmation of that consent: sent again (a double click, a replay)
    it finds a newer event and records nothing.
    """
    channel = session.scalars(select(Channel).where(Channel.code == code, Channel.active.is_(True))).first()
    state = current_states(session, subject).get(channel.id) if channel else None
    if state is None or (seen_seq is not None and state.event.seq != seen_seq):
        return Recorded(None)
    lapse = lapses_at(state.status, state.basis, state.changed_at, channel.validity_months)
    if lapse is None:
        return Recorded(None)
    if account_id is not None:
        trace = trace | {"account": account_id}
    return record_change(session, subject, {code: Status.GRANTED}, basis={code: Basis.CONSENT}, source=source,
                         actor=Actor(ActorType.SUBJECT, subject.public_id), trace=trace, renew=True,
                         event_type=EventType.RENEWED if utcnow() < lapse else EventType.GIVEN)
