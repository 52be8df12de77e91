from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import BindParameter, Boolean, ForeignKey, String, Text, UniqueConstraint, case, select
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


# The version in force: the latest effective, the last published among equals.
IN_FORCE_ORDER = (PolicyVersion.effective_at.desc(), PolicyVersion.id.desc())


def in_force_id(at: BindParameter):
    """The id of the version in force at ``at``, as a scalar subquery (the ledger's one read)."""
    return (select(PolicyVersion.id).where(PolicyVersion.effective_at <= at)
            .order_by(*IN_FORCE_ORDER).limit(1).scalar_subquery())


def text_shown_id(version_id, locale: BindParameter):
    """The id of the text of ``version_id`` a reader of ``locale`` is shown, as a scalar
    subquery: the one in that locale, else English, else the first (as ``PolicyVersion.text``)."""
    preference = case((PolicyText.locale == locale, 0), (PolicyText.locale == "en", 1), else_=2)
    return (select(PolicyText.id).where(PolicyText.policy_version_id == version_id)
            .order_by(preference, PolicyText.locale).limit(1).scalar_subquery())
