"""What a rights request does to the subject: restriction, objection, erasure.

Every change of a channel goes through the ledger (sources restriction,
objection, erasure), so each is an event in the history with its receipt.
What an erasure forgets, and what it keeps, is ``rights/erasure.py``.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.clock import utcnow
from consent_center.ledger import Actor, Recorded, current_states, record_change
from consent_center.models import Channel, DataRequest, Subject
from consent_center.models.vocabulary import Basis, EventType, Source, Status
from consent_center.rights.erasure import erase

OBJECTABLE_BASES = (Basis.LEGITIMATE_INTEREST, Basis.SOFT_OPT_IN)


def _all_channels(session: Session) -> list[Channel]:
    return list(session.scalars(select(Channel).order_by(Channel.position, Channel.code)))


def restrict(session: Session, subject: Subject, *, actor: Actor) -> Recorded:
    """Put every channel in ``restricted`` (the check API answers no) until lifted."""
    states = current_states(session, subject)
    changes = {}
    for channel in _all_channels(session):
        state = states.get(channel.id)
        if state is None and not channel.active:
            continue
        changes[channel.code] = Status.RESTRICTED
    recorded = record_change(session, subject, changes, source=Source.RESTRICTION, actor=actor,
                             event_type=EventType.RESTRICTED)
    subject.restricted_at = subject.restricted_at or utcnow()
    session.flush()
    return recorded


def is_restricted(session: Session, subject: Subject) -> bool:
    """Restricted until the lift, even once every restricted channel was withdrawn."""
    return subject.restricted_at is not None or any(
        s.status == Status.RESTRICTED for s in current_states(session, subject).values())


def lift_restriction(session: Session, subject: Subject, *, actor: Actor) -> Recorded:
    """Give every restricted channel back the status (and basis) it had before."""
    states = current_states(session, subject)
    changes, bases = {}, {}
    for state in states.values():
        if state.status != Status.RESTRICTED:
            continue
        before = state.event.previous_status if state.event.event_type == EventType.RESTRICTED else None
        changes[state.channel.code] = before or Status.NEVER_ASKED
        bases[state.channel.code] = state.basis
    recorded = record_change(session, subject, changes, source=Source.RESTRICTION, actor=actor, basis=bases,
                             event_type=EventType.LIFTED)
    subject.restricted_at = None
    session.flush()
    return recorded


def object_to_marketing(session: Session, subject: Subject, *, actor: Actor) -> Recorded:
    """Withdraw every channel held on legitimate interest or soft opt-in (art. 21(2))."""
    changes = {
        state.channel.code: Status.WITHDRAWN
        for state in current_states(session, subject).values()
        if state.basis in OBJECTABLE_BASES and state.status == Status.GRANTED
    }
    return record_change(session, subject, changes, source=Source.OBJECTION, actor=actor)


def carry_out(session: Session, request: DataRequest, *, account_id: int) -> list[str]:
    """Do what the request asks, then close it; return erasure warnings (event ids)."""
    from consent_center.rights import requests as data_requests
    from consent_center.rights.mail import tell_completed

    if request.identity_verified_at is None:
        raise data_requests.RequestError("verify the requester's identity first")
    if not data_requests.is_open(request):
        raise data_requests.RequestError("this request is closed")
    actor = Actor("account", str(account_id))
    subject = request.subject
    warnings: list[str] = []
    if request.kind == "restriction":
        from consent_center.rights.lifting import restricted_again

        restrict(session, subject, actor=actor)
        restricted_again(session, request)
    elif request.kind == "objection":
        object_to_marketing(session, subject, actor=actor)
    data_requests.close(session, request, status="completed", outcome=request.kind, account_id=account_id)
    tell_completed(session, request)
    if request.kind == "erasure":
        warnings = erase(session, subject, actor=actor)
        if warnings:
            data_requests.log_action(request, account_id, "evidence still naming the subject in events "
                                     + ", ".join(warnings))
    session.flush()
    return warnings
