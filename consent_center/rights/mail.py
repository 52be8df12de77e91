"""E-mails telling a customer their rights request was received, then answered; and before a restriction is lifted."""
from __future__ import annotations

from sqlalchemy.orm import Session

from consent_center.outbox.mail import enqueue_email
from consent_center.models import DataRequest


def _send(session: Session, request: DataRequest, topic: str, **more) -> None:
    subject = request.subject
    if not subject.email:
        return
    enqueue_email(session, topic=topic, to=subject.email, locale=subject.locale, name=subject.name,
                  request=request.public_id, kind=request.kind,
                  due=request.due_at.isoformat(), status=request.status, **more)


def tell_received(session: Session, request: DataRequest) -> None:
    """Queue the acknowledgement of receipt, in the subject's language."""
    _send(session, request, "request_received")


def tell_completed(session: Session, request: DataRequest) -> None:
    """Queue the e-mail saying the request was answered.

    Not after an erasure: the address is gone the moment the request is
    carried out, and keeping it to write once more would defeat the erasure
    (the customer was told the due date on receipt).
    """
    if request.kind == "erasure":
        return
    _send(session, request, "request_completed")


def tell_lift(session: Session, request: DataRequest) -> None:
    """Queue the notice that the restriction is lifted on ``request.lift_at`` (GDPR art. 18(3))."""
    _send(session, request, "restriction_lift", lift_at=request.lift_at.isoformat())
