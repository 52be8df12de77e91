"""Data-subject rights requests: filing, due dates, extension, the staff log.

GDPR art. 12(3): an answer within one month of receipt
(``CONSENT_REQUEST_RESPONSE_DAYS``, 30 days on the center's clock), extendable
once by up to two further months (``CONSENT_REQUEST_EXTENSION_DAYS``, 61
days) with a reason the customer is told: the jurisdiction's rules, which
cannot be set longer than the law. What each kind of request does
to the subject lives in ``effects.py``; what staff do on the desk, with their log lines, in ``desk_actions.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, select
from sqlalchemy.orm import Session

from consent_center.check.answer import add_months
from consent_center.clock import utcnow
from consent_center.models import DataRequest, Subject
from consent_center.safe_text import refused_text
from consent_center.subjects.contact import note_contact

KINDS = ("access", "portability", "restriction", "objection", "erasure", "post_mortem")
SOON_DAYS = 7
OPEN_STATUSES = ("received", "verified")
MAX_TEXT = 4000
MAX_REFERENCE = 200

# How staff may check that the requester is the subject (docs/staff-guide.md says when each fits):
IDENTITY_METHODS = (
    "known_session",                 # filed from the person's own customer space, logged in
    "code_to_address_on_file",       # a one-time code sent to the e-mail address or phone on file, read back
    "callback_to_number_on_file",    # staff called back the phone number on file
    "letter_to_address_on_file",     # a code sent by post to the postal address on file, returned
    "document_seen",                 # an identity document shown in person or on video; no copy is kept
)


def response_due(received: datetime) -> datetime:
    """When a request received then must be answered: ``REQUEST_RESPONSE_DAYS``, and never past one month.

    The GDPR counts a month as the calendar does (Regulation 1182/71: the
    same date next month, or that month's last day): 30 days from 30 January
    would be two days late.
    """
    return min(received + timedelta(days=current_app.config["REQUEST_RESPONSE_DAYS"]), add_months(received, 1))


def extended_due(request: DataRequest, days: int) -> datetime:
    """The due date pushed back by ``days``, never past two further months (art. 12(3))."""
    return min(request.due_at + timedelta(days=days), add_months(response_due(request.received_at), 2))


def longest_extension() -> int:
    """The most days a request's deadline may be pushed back (the jurisdiction's rule)."""
    return current_app.config["REQUEST_EXTENSION_DAYS"]


class RequestError(ValueError):
    """A request or staff action that cannot be taken as asked; nothing was written."""


def file_request(
    session: Session, subject: Subject, kind: str, *, details: str | None = None,
    trusted_contact: str | None = None,
) -> DataRequest:
    """File a request of ``kind`` for ``subject``, due ``REQUEST_RESPONSE_DAYS`` from now; a contact from them."""
    if kind not in KINDS:
        raise RequestError(f"unknown kind of request {kind!r}")
    details = (details or "").strip()[:MAX_TEXT] or None
    trusted_contact = (trusted_contact or "").strip()[:MAX_TEXT] or None
    if kind == "post_mortem" and not (details or trusted_contact):
        raise RequestError("post-mortem instructions need a trusted contact or what to do with the data")
    now = utcnow()
    request = DataRequest(subject_id=subject.id, kind=kind, status="received", received_at=now,
                          due_at=response_due(now), details=details,
                          trusted_contact=trusted_contact if kind == "post_mortem" else None)
    session.add(request)
    if kind != "post_mortem":  # often filed on behalf of someone else: not that person's contact
        note_contact(subject, "request", now)
    session.flush()
    return request


def requests_of(session: Session, subject: Subject) -> list[DataRequest]:
    """The subject's requests, newest first."""
    return list(session.scalars(select(DataRequest).where(DataRequest.subject_id == subject.id)
                                .order_by(DataRequest.received_at.desc(), DataRequest.id.desc())))


def request_of(session: Session, subject: Subject, public_id: str) -> DataRequest | None:
    """One of the subject's requests; None for anyone else's."""
    return session.scalars(select(DataRequest).where(
        DataRequest.subject_id == subject.id, DataRequest.public_id == public_id)).first()


def find_request(session: Session, public_id: str, *, lock: bool = False) -> DataRequest | None:
    """The request with ``public_id``, whoever's it is (the desk); None if there is none.

    With ``lock``, the request's row stays locked until the transaction
    ends and is read afresh once locked (PostgreSQL: SELECT ... FOR UPDATE;
    SQLite's writers hold the database's lock from BEGIN IMMEDIATE): of
    concurrent desk actions on one request, each sees what the one before
    it did, so a request is checked, carried out or declined once.
    """
    query = select(DataRequest).where(DataRequest.public_id == public_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).first()


def is_open(request: DataRequest) -> bool:
    return request.status in OPEN_STATUSES


def is_overdue(request: DataRequest) -> bool:
    return is_open(request) and request.due_at < utcnow()


def is_soon_due(request: DataRequest) -> bool:
    return is_open(request) and not is_overdue(request) and request.due_at < utcnow() + timedelta(days=SOON_DAYS)


@dataclass(frozen=True)
class QueueLine:
    request: DataRequest
    overdue: bool
    soon_due: bool


def queue(session: Session, *, include_closed: bool = False) -> list[QueueLine]:
    """Open requests, the earliest due (so the overdue) first; closed ones after, newest first."""
    open_first = case((DataRequest.status.in_(OPEN_STATUSES), 0), else_=1)
    stmt = select(DataRequest).order_by(open_first, DataRequest.due_at, DataRequest.id)
    if not include_closed:
        stmt = stmt.where(DataRequest.status.in_(OPEN_STATUSES))
    return [QueueLine(r, is_overdue(r), is_soon_due(r)) for r in session.scalars(stmt)]


def log_action(request: DataRequest, account_id: int | None, action: str) -> None:
    """Append a line to the request's staff log (who, when, what; never personal data)."""
    who = f"account {account_id}" if account_id is not None else "system"
    line = f"{utcnow().strftime('%Y-%m-%d %H:%M:%S')}Z {who}: {action}"
    request.notes = f"{request.notes}\n{line}" if request.notes else line


def identity_checked(request: DataRequest) -> bool:
    """Whether staff recorded how the requester was checked to be the subject (the gate of carrying out)."""
    return request.identity_verified_at is not None and request.identity_method in IDENTITY_METHODS


class IdentityEvidenceError(RequestError):
    """An identity check recorded without a known method or without its evidence; nothing was written."""


def verify_identity(session: Session, request: DataRequest, *, account_id: int, method: str,
                    evidence: str, reference: str | None = None) -> None:
    """Record that staff checked the requester is the subject: how, and the evidence.

    The evidence is a note ("code read back on the phone, ticket 4411") and
    a reference to where any proof is kept; never a copy of a document, and
    never a direct identifier (the note outlives an erasure).
    """
    evidence = (evidence or "").strip()
    reference = (reference or "").strip()
    if not is_open(request):
        raise RequestError("this request is closed")
    if identity_checked(request):
        raise RequestError("the identity is already checked")
    if method not in IDENTITY_METHODS:
        raise IdentityEvidenceError("method")
    if not evidence or len(evidence) > MAX_TEXT or refused_text(evidence, multiline=True):
        raise IdentityEvidenceError("evidence")
    if len(reference) > MAX_REFERENCE or refused_text(reference):
        raise IdentityEvidenceError("reference")
    request.identity_verified_at = utcnow()
    request.identity_verified_by = account_id
    request.identity_method = method
    request.identity_evidence = evidence
    request.identity_reference = reference or None
    request.status = "verified"
    log_action(request, account_id, f"identity verified ({method})")
    session.flush()


def extend(session: Session, request: DataRequest, *, days: int, reason: str, account_id: int) -> None:
    """Push the due date back once, by at most ``longest_extension()`` days, telling the customer why."""
    reason = (reason or "").strip()
    if not is_open(request):
        raise RequestError("this request is closed")
    if request.extended_at is not None:
        raise RequestError("a request can be extended only once")
    if utcnow() > request.due_at:
        raise RequestError("the deadline has passed: an extension is decided, and the person told, before it "
                           "(GDPR art. 12(3))")
    if not 1 <= days <= longest_extension():
        raise RequestError(f"an extension is between 1 and {longest_extension()} days")
    if not reason:
        raise RequestError("an extension needs a reason the customer will read")
    request.extended_at = utcnow()
    request.extension_reason = reason[:MAX_TEXT]
    request.due_at = extended_due(request, days)
    log_action(request, account_id, f"extended by {days} days")
    session.flush()


def close(session: Session, request: DataRequest, *, status: str, outcome: str, account_id: int | None) -> None:
    """Mark the request completed (or rejected); ``outcome`` is a key of labels.REQUEST_OUTCOME_LABELS."""
    request.status = status
    request.completed_at = utcnow()
    request.outcome = outcome
    log_action(request, account_id, f"{status}: {outcome}")
    session.flush()
