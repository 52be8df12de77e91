"""What staff do on the requests desk, each with its line in the staff log.

One function per desk action: it checks the action may be taken, calls the
service that does it (``requests.py``, ``effects.py``) and writes the staff
log line in the same transaction. Carrying out a request is gated here: no
request (an erasure, an access or portability export, or any other) is
carried out for a requester whose identity check is not recorded.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from consent_center.accounts.staff_log import log_staff_action
from consent_center.models import Account, DataRequest
from consent_center.ledger import Actor
from consent_center.rights import effects, lifting
from consent_center.rights import requests as data_requests


class IdentityNotChecked(data_requests.RequestError):
    """Carrying out was asked before the requester's identity check was recorded; nothing was done."""


def _log(session: Session, staff: Account, action: str, request: DataRequest, **details) -> None:
    log_staff_action(session, staff, action, f"request:{request.public_id}", kind=request.kind,
                     subject=request.subject.public_id, **details)


def check_identity(session: Session, request: DataRequest, staff: Account, *, method: str, evidence: str,
                   reference: str | None = None) -> None:
    """Record how the requester was checked to be the subject, and the evidence."""
    data_requests.verify_identity(session, request, account_id=staff.id, method=method, evidence=evidence,
                                  reference=reference)
    _log(session, staff, "request.identity_checked", request, method=request.identity_method,
         evidence=request.identity_evidence, reference=request.identity_reference)


def extend(session: Session, request: DataRequest, staff: Account, *, days: int, reason: str) -> None:
    """Push the due date back once, with the reason the customer reads."""
    data_requests.extend(session, request, days=days, reason=reason, account_id=staff.id)
    _log(session, staff, "request.extended", request, days=days, reason=request.extension_reason,
         due_at=request.due_at.isoformat())


def carry_out(session: Session, request: DataRequest, staff: Account) -> list[str]:
    """Carry out a request whose requester's identity check is recorded; return erasure warnings."""
    if not data_requests.is_open(request):
        raise data_requests.RequestError("this request is closed")
    if not data_requests.identity_checked(request):
        raise IdentityNotChecked("identity not checked")
    warnings = effects.carry_out(session, request, account_id=staff.id)
    _log(session, staff, "request.carried_out", request, identity_method=request.identity_method,
         evidence_naming_subject=warnings)
    return warnings


def announce_lift(session: Session, request: DataRequest, staff: Account) -> None:
    """Tell the person when the restriction a carried-out request put in place is lifted."""
    lift_at = lifting.announce(session, request, account_id=staff.id)
    _log(session, staff, "request.restriction_lift_announced", request, lift_at=lift_at.isoformat(),
         told_by_email=bool(request.lift_by_email))


def lift(session: Session, request: DataRequest, staff: Account, *, told: str | None = None) -> None:
    """Lift the restriction, on or after the date the person was told (``told``: how, where not by e-mail)."""
    kept = lifting.lift(session, request, actor=Actor("account", str(staff.id)), account_id=staff.id, told=told)
    _log(session, staff, "request.restriction_lifted", request, **({"told": kept} if kept else {}))


def decline(session: Session, request: DataRequest, staff: Account) -> None:
    """Close an open request without carrying it out."""
    if not data_requests.is_open(request):
        raise data_requests.RequestError("this request is closed")
    data_requests.close(session, request, status="rejected", outcome="rejected", account_id=staff.id)
    _log(session, staff, "request.declined", request)
