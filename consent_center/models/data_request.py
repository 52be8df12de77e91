from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consent_center.clock import utcnow
from consent_center.db import Base, UTCDateTime
from consent_center.models.subject import Subject


class DataRequest(Base):
    """A data-subject rights request (GDPR art. 15-21) or post-mortem instructions."""

    __tablename__ = "data_requests"
    __table_args__ = (Index("ix_data_requests_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: secrets.token_hex(12))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="received")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # GDPR art. 12(3): once, by up to two months, with a reason the customer reads.
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    identity_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    identity_verified_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    # How staff checked the requester is the subject (rights.requests.IDENTITY_METHODS) and
    # the evidence: a note and a reference to where the proof is (a ticket, a letter), never a copy.
    identity_method: Mapped[str | None] = mapped_column(String(32))
    identity_evidence: Mapped[str | None] = mapped_column(Text)
    identity_reference: Mapped[str | None] = mapped_column(String(200))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the customer wrote (and, for post-mortem instructions, the wishes).
    details: Mapped[str | None] = mapped_column(Text)
    trusted_contact: Mapped[str | None] = mapped_column(Text)
    # Staff notes and the log of staff actions, newest last.
    notes: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    # A restriction is lifted only after the person was told (GDPR art. 18(3)): when, and from when.
    lift_told_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lift_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Whether the notice went by e-mail; False: no deliverable address, staff tell the person another way.
    lift_by_email: Mapped[bool | None] = mapped_column(Boolean)

    subject: Mapped[Subject] = relationship()

    def __repr__(self) -> str:
        return f"<DataRequest {self.public_id} {self.kind} {self.status}>"


class SuppressedAddress(Base):
    """The salted hash (HMAC-SHA256) of an erased e-mail address or E.164 number: never take it back silently."""

    __tablename__ = "suppressed_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
