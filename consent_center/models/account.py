from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consent_center.clock import utcnow
from consent_center.db import Base, UTCDateTime
from consent_center.models.subject import Subject
from consent_center.models.vocabulary import STAFF_ROLES, Role


class Account(Base):
    """A login: a customer's (linked to a subject) or a staff member's."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default=Role.CUSTOMER)
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"), unique=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Base32 TOTP secret once a staff member has enrolled a second factor.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    # Last accepted TOTP time step: a code is accepted once (no replay).
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # Each session carries the version it was opened under; bumping it ends
    # every session of the account (logout, new password, disabling, role).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    subject: Mapped[Subject | None] = relationship()

    # Flask-Login protocol
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def __repr__(self) -> str:
        return f"<Account {self.id} {self.role}>"
