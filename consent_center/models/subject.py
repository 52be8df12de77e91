from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column, validates

from consent_center.clock import utcnow
from consent_center.db import Base, UTCDateTime


# E.164: what addresses.normalise_phone stores, and the only form the check by phone looks up.
E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def new_public_id() -> str:
    """Return a random, URL-safe public identifier (never the row id)."""
    return secrets.token_hex(12)


class Subject(Base):
    """A person the company communicates with: customer or prospect."""

    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    # Not unique: a household's or a shared line may be several people's (check/by_phone.py).
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
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
    # The last contact coming from the person outside the ledger (a login, a request, activity a
    # tool reported, a yes to "still interested?"): with their own consent changes, what starts the
    # retention clock (subjects/contact.py). Never a mail open.
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_contact_kind: Mapped[str | None] = mapped_column(String(16))

    @validates("phone")
    def _stored_form(self, key: str, phone: str | None) -> str | None:
        # A number in another form would be missed by the check by phone: every write
        # path normalises (addresses.normalise_phone); this fails one that forgets to.
        if phone is not None and not E164.fullmatch(phone):
            raise ValueError("a subject's phone number is stored in E.164 (addresses.normalise_phone)")
        return phone

    def __repr__(self) -> str:
        return f"<Subject {self.public_id}>"
