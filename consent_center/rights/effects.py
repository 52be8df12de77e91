"""What a rights request does to the subject: restriction, objection, erasure.

Every change of a channel goes through the ledger (sources restriction,
objection, erasure), so each is an event in the history with its receipt.

Erasure pseudonymises: name, e-mail, phone, postal address and external
reference are cleared (the e-mail addresses and the phone number go on the
suppression list, unless retention erases), the subject takes no change
any more (``ledger.ErasedSubject``), the customer account is deleted, outbox messages
to the address and pending newsletter sign-ups are deleted, and the
subject's request texts are cleared. The consent ledger stays as proof
under the pseudonymous public id: its hash chain and its receipts cover
no personal field (receipts name the subject by public id only), so
``ledger verify`` and receipt verification still pass. Event ``evidence``
is hashed and append-only, so it cannot be scrubbed: it must never hold
direct identifiers (a staff note says "phone call, ticket 4411", not the
caller's name); ``erase`` reports the events whose evidence still contains
one of the erased values so staff can deal with them.
"""
from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from consent_center.canonical import canonical_json
from consent_center.clock import utcnow
from consent_center.ledger import Actor, Recorded, current_states, record_change
from consent_center.models import (
    Account,
    Channel,
    ConsentEvent,
    DataRequest,
    NewsletterSignup,
    OutboxMessage,
    Subject,
)
from consent_center.models.vocabulary import Basis, EventType, Source, Status
from consent_center.subjects.suppression import suppress

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
    return record_change(session, subject, changes, source=Source.RESTRICTION, actor=actor,
                         event_type=EventType.RESTRICTED)


def is_restricted(session: Session, subject: Subject) -> bool:
    return any(s.status == Status.RESTRICTED for s in current_states(session, subject).values())


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
    return record_change(session, subject, changes, source=Source.RESTRICTION, actor=actor, basis=bases,
                         event_type=EventType.LIFTED)


def object_to_marketing(session: Session, subject: Subject, *, actor: Actor) -> Recorded:
    """Withdraw every channel held on legitimate interest or soft opt-in (art. 21(2))."""
    changes = {
        state.channel.code: Status.WITHDRAWN
        for state in current_states(session, subject).values()
        if state.basis in OBJECTABLE_BASES and state.status == Status.GRANTED
    }
    return record_change(session, subject, changes, source=Source.OBJECTION, actor=actor)


def personal_values(subject: Subject) -> list[str]:
    """The subject's direct identifiers, as stored."""
    return [v for v in (subject.name, subject.email, subject.phone, subject.postal_address,
                        subject.external_ref) if v]


def erase(session: Session, subject: Subject, *, actor: Actor, reason: str = "erasure",
          suppress_address: bool = True) -> list[str]:
    """Pseudonymise ``subject``; return the public ids of events whose evidence still names them."""
    values = personal_values(subject)
    account = session.scalars(select(Account).where(Account.subject_id == subject.id)).first()
    addresses = {a for a in (subject.email, account.email if account else None) if a}
    if suppress_address and subject.phone:
        # The number too (E.164, as stored): it must not bring the person back through a CRM.
        suppress(session, subject.phone, reason=reason)
    changes = {state.channel.code: Status.WITHDRAWN for state in current_states(session, subject).values()}
    # renew: a channel already withdrawn still gets its erasure event.
    record_change(session, subject, changes, source=Source.ERASURE, actor=actor, renew=True,
                  event_type=EventType.WITHDRAWN)
    for address in addresses:
        if suppress_address:
            suppress(session, address, reason=reason)
        session.execute(delete(OutboxMessage).where(OutboxMessage.recipient == address))
        session.execute(delete(NewsletterSignup).where(NewsletterSignup.email == address))
    session.execute(delete(NewsletterSignup).where(NewsletterSignup.subject_id == subject.id))
    if account is not None:
        session.delete(account)
    for request in session.scalars(select(DataRequest).where(DataRequest.subject_id == subject.id)):
        request.details = None
        request.trusted_contact = None
    subject.name = subject.email = subject.phone = subject.postal_address = subject.external_ref = None
    subject.is_customer = False
    subject.erased_at = utcnow()
    session.flush()
    return _evidence_naming(session, subject, values)


def _evidence_naming(session: Session, subject: Subject, values: list[str]) -> list[str]:
    found = []
    lowered = [v.lower() for v in values]
    for event in session.scalars(select(ConsentEvent).where(ConsentEvent.subject_id == subject.id,
                                                            ConsentEvent.evidence.is_not(None))):
        text = canonical_json(event.evidence).lower()
        if any(v in text for v in lowered):
            found.append(event.public_id)
    return found




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


def lift(session: Session, request: DataRequest, *, account_id: int) -> None:
    """Lift the restriction a completed restriction request put in place."""
    from consent_center.rights import requests as data_requests

    if request.kind != "restriction" or request.status != "completed":
        raise data_requests.RequestError("only a carried-out restriction can be lifted")
    lift_restriction(session, request.subject, actor=Actor("account", str(account_id)))
    data_requests.log_action(request, account_id, "restriction lifted")
    request.outcome = "lifted"
    session.flush()
