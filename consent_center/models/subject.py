from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from consent_center.clock import utcnow
from consent_center.db import Base, UTCDateTime


def new_public_id() -> str:
    """Return a random, URL-safe public identifier (never the row id)."""
    return secrets.token_hex(12)


class Subject(Base):
    """A person the company communicates with: customer or prospect."""

    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(200))
    postal_address: Mapped[str | None] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(8), default="fr")
    external_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    is_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Set by erasure (subject_rights.erase): only the pseudonymous public id remains.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by a restriction (GDPR art. 18), cleared only by its lift: the
    # person's, so withdrawing every restricted channel does not end it.
    restricted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Subject {self.public_id}>"
