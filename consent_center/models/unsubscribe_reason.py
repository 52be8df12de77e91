from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from consent_center.db import Base, UTCDateTime


class UnsubscribeReason(Base):
    """Why a person unsubscribed, if they chose to say: one optional answer per withdrawal's receipt.

    Kept beside the ledger, never in it: consent events are append-only and
    hashed, and a reason is given after the withdrawal is recorded. Linked to
    the receipt of that withdrawal (one answer each, a second is refused) and
    to the subject, so that erasure finds it and forgets its free text.
    """

    __tablename__ = "unsubscribe_reasons"
    __table_args__ = (Index("ix_unsubscribe_reasons_subject_id", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"), unique=True)
    # One of unsubscribe.reasons.REASONS.
    reason: Mapped[str] = mapped_column(String(32))
    # What the person wrote after "Other"; None once erased.
    detail: Mapped[str | None] = mapped_column(String(500))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<UnsubscribeReason {self.reason}>"
