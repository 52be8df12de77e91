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
from consent_center.rights.lifting import restricted_again

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


def object_to_marketing(session: Session, subject: Subject, *, actor: Actor) -> Recorded:
    """Withdraw every channel held on legitimate interest or soft opt-in (art. 21(2)).

    A channel restricted from such a grant is withdrawn too: the lift gives a restricted channel
    back what it had, and must not give back what the person objected to meanwhile (art. 21(3)).
    """
    changes = {
        state.channel.code: Status.WITHDRAWN
        for state in current_states(session, subject).values()
        if state.basis in OBJECTABLE_BASES and (state.status == Status.GRANTED or (
            state.status == Status.RESTRICTED and state.event.event_type == EventType.RESTRICTED
            and state.event.previous_status == Status.GRANTED))
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
