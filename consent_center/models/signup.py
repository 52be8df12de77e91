from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consent_center.db import Base, UTCDateTime
from consent_center.models.policy import PolicyVersion


class NewsletterSignup(Base):
    """A newsletter sign-up waiting for its double opt-in confirmation.

    No subject exists for the address until the link is confirmed: an
    address typed by anyone is not yet a person who asked for anything.
    """

    __tablename__ = "newsletter_signups"
    __table_args__ = (Index("ix_newsletter_signups_email_requested_at", "email", "requested_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Named by the confirmation token; random, never the row id.
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: secrets.token_hex(16))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(8))
    # The policy version whose checkbox was ticked.
    policy_version_id: Mapped[int] = mapped_column(ForeignKey("policy_versions.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The minimised trace of the sign-up request (trace.request_trace).
    trace: Mapped[dict | None] = mapped_column(JSON)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"))

    policy_version: Mapped[PolicyVersion] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<NewsletterSignup {self.public_id}>"
