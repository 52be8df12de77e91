from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consent_center.db import Base, UTCDateTime
from consent_center.models.subject import Subject


class Receipt(Base):
    """The consent receipt of one submitted change (one or more channels)."""

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Canonical JSON of the receipt document (Kantara Consent Receipt v1.1).
    document: Mapped[str] = mapped_column(Text)
    # Compact JWS (EdDSA, an Ed25519 key) whose payload is exactly ``document``; None only
    # for receipts issued before receipts were signed.
    jws: Mapped[str | None] = mapped_column(Text)
    # The receipt's language: which policy text (and hash) the subject was shown.
    language: Mapped[str | None] = mapped_column(String(8))

    subject: Mapped[Subject] = relationship()
