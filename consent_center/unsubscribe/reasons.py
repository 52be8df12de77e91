"""Why people unsubscribe, when they choose to say: one optional answer after a withdrawal.

The question comes after the withdrawal is recorded, never before it: the
unsubscribe does not wait on it. The answer is evidence kept beside the
ledger (``models.UnsubscribeReason``): the events are append-only and
hashed, so it names the withdrawal's receipt instead. Auditors read the
counts; erasure forgets the free text and keeps the anonymous choice.
"""
from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consent_center.clock import utcnow
from consent_center.models import Receipt, Subject, UnsubscribeReason

# The short list the page offers, in its order; "other" takes a few words.
REASONS = ("too_many", "not_relevant", "not_asked", "prefer_other_channel", "other")
DETAIL_MAX = 500


class ReasonError(ValueError):
    """An answer that is not one of the reasons offered."""


def record_reason(session: Session, subject: Subject, receipt_public_id: str, reason: str,
                  detail: str | None = None) -> bool:
    """Keep the person's answer for the withdrawal ``receipt_public_id``; False if one is already kept."""
    if reason not in REASONS:
        raise ReasonError(reason)
    receipt = session.scalars(select(Receipt).where(Receipt.public_id == receipt_public_id,
                                                    Receipt.subject_id == subject.id)).first()
    if receipt is None:
        raise ReasonError("unknown receipt")
    text = " ".join((detail or "").split())[:DETAIL_MAX] if reason == "other" else ""
    try:
        # The receipt's unique key decides between two answers sent at once: the first is kept.
        with session.begin_nested():
            session.add(UnsubscribeReason(subject_id=subject.id, receipt_id=receipt.id, reason=reason,
                                          detail=text or None, given_at=utcnow()))
    except IntegrityError:
        return False
    return True


def reason_counts(session: Session) -> list[tuple[str, int]]:
    """How many people gave each reason, most given first."""
    rows = session.execute(select(UnsubscribeReason.reason, func.count()).group_by(UnsubscribeReason.reason)
                           .order_by(func.count().desc(), UnsubscribeReason.reason)).all()
    return [(reason, count) for reason, count in rows]


def forget_reasons(session: Session, subject: Subject) -> None:
    """Erasure: the words the person wrote go; the anonymous choice stays counted."""
    session.execute(update(UnsubscribeReason).where(UnsubscribeReason.subject_id == subject.id)
                    .values(detail=None))
