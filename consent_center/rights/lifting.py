"""Lifting a restriction: the person is told first, and it is lifted no sooner than they were told (GDPR art. 18(3)).

Staff announce the lift on the request's page (``announce``): the person is
e-mailed the date, ``CONSENT_RESTRICTION_LIFT_NOTICE_DAYS`` days ahead, so
they can object, ask for erasure or complain before their data is processed
again. From that date staff may lift it (``lift``), and ``consent expire``
(the daily job) lifts every one whose date has come (``lift_due``) where the
notice went by e-mail and the address has not bounced since. A person with
no deliverable e-mail address is told by staff another way: the desk says so,
and the lift asks staff how they told them. A person erased meanwhile has
nothing left to lift. A restriction asked for again voids an announcement
(``restricted_again``), and a lift ends every restriction request of the
person, so an old announcement never lifts a later restriction.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.clock import utcnow
from consent_center.ledger import Actor, Recorded, current_states, record_change
from consent_center.models import DataRequest, Subject
from consent_center.models.vocabulary import EventType, Source, Status
from consent_center.rights import requests as data_requests
from consent_center.rights.mail import tell_lift
from consent_center.subjects.deliverability import undeliverable_among

LIFTED = "lifted"
MAX_TOLD = 200


class NotToldError(data_requests.RequestError):
    """A lift asked where the notice did not go by e-mail, without saying how the person was told."""


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


def liftable(session: Session, subject: Subject) -> bool:
    """Whether the person has a restriction left to lift: restricted, and not erased since."""
    return subject.erased_at is None and is_restricted(session, subject)


def lift_moment(now: datetime) -> datetime:
    """When a lift announced at ``now`` may happen: ``CONSENT_RESTRICTION_LIFT_NOTICE_DAYS`` later."""
    return now + timedelta(days=current_app.config["RESTRICTION_LIFT_NOTICE_DAYS"])


def is_due(request: DataRequest) -> bool:
    """Whether the date the person was told has come."""
    return request.lift_at is not None and request.lift_at <= utcnow()


def _not_in_force(session: Session, request: DataRequest) -> str | None:
    """Why ``request`` has no restriction to announce or lift; None: it has one."""
    if request.kind != "restriction" or request.status != "completed":
        return "only a carried-out restriction can be lifted"
    if request.subject.erased_at is not None:
        return "the person's data is erased: there is nothing left to lift"
    if request.outcome == LIFTED or not is_restricted(session, request.subject):
        return "the restriction is already lifted"
    return None


def in_force(session: Session, request: DataRequest) -> bool:
    """Whether ``request`` is a restriction still to lift: what its page offers to announce or lift."""
    return _not_in_force(session, request) is None


def _in_force(session: Session, request: DataRequest) -> None:
    reason = _not_in_force(session, request)
    if reason is not None:
        raise data_requests.RequestError(reason)


def _reachable_by_email(session: Session, subject: Subject) -> bool:
    """Whether an e-mail reaches the person: an address the mail providers have not given up on."""
    return bool(subject.email) and not undeliverable_among(session, [subject.email])


def told_by_email(session: Session, request: DataRequest) -> bool:
    """Whether the notice went by e-mail, to an address that has not bounced since."""
    return bool(request.lift_by_email) and _reachable_by_email(session, request.subject)


def announce(session: Session, request: DataRequest, *, account_id: int) -> datetime:
    """Tell the person when their restriction will be lifted; return that moment."""
    _in_force(session, request)
    if request.lift_told_at is not None:
        raise data_requests.RequestError("the person was already told when the restriction is lifted")
    request.lift_told_at = utcnow()
    request.lift_at = lift_moment(request.lift_told_at)
    request.lift_by_email = _reachable_by_email(session, request.subject)
    if request.lift_by_email:
        tell_lift(session, request)
    data_requests.log_action(request, account_id, f"lift announced for {request.lift_at:%Y-%m-%d %H:%M}Z" + (
        "" if request.lift_by_email else ", no deliverable e-mail address: to be told another way"))
    session.flush()
    return request.lift_at


def lift(session: Session, request: DataRequest, *, actor: Actor, account_id: int | None,
         told: str | None = None) -> str | None:
    """Lift the restriction, once the person was told and the date they were told has come.

    Where the notice did not go by e-mail (no deliverable address), ``told`` is how staff told them
    (a letter, a call): required, kept in the request's log, and returned as kept (one line).
    """
    _in_force(session, request)
    if request.lift_at is None:
        raise data_requests.RequestError("tell the person first: a restriction is lifted only after they are told")
    if not is_due(request):
        raise data_requests.RequestError(
            f"the person was told the restriction is lifted on {request.lift_at:%Y-%m-%d %H:%M}Z: not before")
    told = " ".join((told or "").split())
    if not told_by_email(session, request):
        if not told or len(told) > MAX_TOLD:
            raise NotToldError("the notice did not reach the person by e-mail: say how they were told "
                               f"(a letter, a call; one line of at most {MAX_TOLD} characters)")
    lift_restriction(session, request.subject, actor=actor)
    data_requests.log_action(request, account_id, "restriction lifted" + (f"; the person was told: {told}"
                                                                          if told else ""))
    request.outcome = LIFTED
    # The person's other restriction requests end with it: none keeps an announcement that could
    # later lift a restriction the person asks for again.
    for other in _pending(session, request.subject, but=request):
        other.outcome = LIFTED
        data_requests.log_action(other, account_id, f"restriction lifted with request {request.public_id}")
    session.flush()
    return told or None


def _pending(session: Session, subject: Subject, *, but: DataRequest) -> list[DataRequest]:
    """The subject's other carried-out restriction requests not lifted yet."""
    return list(session.scalars(select(DataRequest).where(
        DataRequest.subject_id == subject.id, DataRequest.kind == "restriction", DataRequest.status == "completed",
        DataRequest.id != but.id, (DataRequest.outcome.is_(None)) | (DataRequest.outcome != LIFTED))))


def restricted_again(session: Session, request: DataRequest) -> None:
    """A restriction carried out while a lift is announced: the announcement no longer holds (art. 18(3)).

    The person asked for a restriction again after being told the date of the lift; that date said
    nothing of this one, so they are told again before any lift.
    """
    for other in _pending(session, request.subject, but=request):
        if other.lift_told_at is not None:
            other.lift_told_at = other.lift_at = None
            data_requests.log_action(other, None, f"lift announcement withdrawn: restriction asked again "
                                                  f"(request {request.public_id})")


def lift_due(session: Session) -> int:
    """Lift every restriction whose announced date has come (the daily job); return how many."""
    due = list(session.scalars(
        select(DataRequest).join(Subject, Subject.id == DataRequest.subject_id)
        .where(DataRequest.kind == "restriction", DataRequest.status == "completed",
               DataRequest.lift_at <= utcnow(), Subject.erased_at.is_(None),
               (DataRequest.outcome.is_(None)) | (DataRequest.outcome != LIFTED))
        .order_by(DataRequest.lift_at, DataRequest.id).with_for_update(of=DataRequest)))
    lifted = 0
    for request in due:
        if not is_restricted(session, request.subject):  # lifted through another of the person's requests
            request.outcome = LIFTED
            continue
        if not told_by_email(session, request):  # no address, or the notice bounced: staff lift it on the desk
            if request.lift_by_email:
                request.lift_by_email = False
                data_requests.log_action(request, None, "the lift's notice did not reach the person: to be "
                                                        "told another way, then lifted on the desk")
            continue
        lift(session, request, actor=Actor.system(), account_id=None)
        lifted += 1
    return lifted
