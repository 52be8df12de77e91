from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consent_center.clock import utcnow
from consent_center.db import Base, UTCDateTime


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class PolicyVersion(Base):
    """A privacy-policy version; published once, never edited."""

    __tablename__ = "policy_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(64), unique=True)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    material: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Loaded when read (lists of versions ask for them with selectinload): every
    # consent change loads the version in force, and only its receipt reads a text.
    texts: Mapped[list[PolicyText]] = relationship(
        back_populates="policy_version", order_by="PolicyText.locale"
    )

    def text(self, locale: str) -> PolicyText | None:
        by_locale = {t.locale: t for t in self.texts}
        return by_locale.get(locale) or by_locale.get("en") or next(iter(by_locale.values()), None)

    def __repr__(self) -> str:
        return f"<PolicyVersion {self.label}>"


class PolicyText(Base):
    """The text of a policy version in one locale, with its SHA-256."""

    __tablename__ = "policy_texts"
    __table_args__ = (UniqueConstraint("policy_version_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_version_id: Mapped[int] = mapped_column(ForeignKey("policy_versions.id"))
    locale: Mapped[str] = mapped_column(String(8))
    # Receipts and lists need the hash, not the text (tens of kilobytes).
    body: Mapped[str] = mapped_column(Text, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64))

    policy_version: Mapped[PolicyVersion] = relationship(back_populates="texts")
