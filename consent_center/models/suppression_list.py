"""Per-medium suppression lists, and the addresses mail providers say are undeliverable.

Both keep only the HMAC of a stored address or number (``addresses.fingerprint``
with the suppression list's key), never the value: a list can answer "is this
one on it?" for a value one already has, and cannot be read back.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from consent_center.clock import utcnow
from consent_center.db import Base, UTCDateTime


class SuppressionList(Base):
    """A list of identifiers not to be contacted by one medium: a national register, STOPs, complaints.

    A list applies to a medium (``Channel.medium``: every e-mail channel, every
    phone channel), not to one channel: an opt-out register, a STOP or a spam
    complaint is about a means of contact, and a channel added later is covered
    without importing the list again.
    """

    __tablename__ = "suppression_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    medium: Mapped[str] = mapped_column(String(16), index=True)
    # 'external' (a file imported), 'sms_keyword' (STOPs), 'complaint' (spam reports).
    source: Mapped[str] = mapped_column(String(16))
    # The extract's date, and the last day it may be used (a Bloctel extract is valid a limited time).
    list_date: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    # The register lets a company call its own customers (Bloctel: a contract in progress).
    customers_exempt: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    entry_count: Mapped[int] = mapped_column(Integer, default=0)

    def in_force(self, today: date) -> bool:
        return self.valid_until is None or today <= self.valid_until

    def __repr__(self) -> str:
        return f"<SuppressionList {self.name} {self.medium}>"


class SuppressionEntry(Base):
    """One identifier on a list: its digest only."""

    __tablename__ = "suppression_entries"
    __table_args__ = (UniqueConstraint("list_id", "digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("suppression_lists.id", ondelete="CASCADE"))
    # Looked up by digest (the check asks for values, not lists): its own index.
    digest: Mapped[str] = mapped_column(String(64), index=True)
    # When it came: a STOP's or a complaint's fingerprint goes after CONSENT_RETENTION_OBJECTION_YEARS.
    added_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)


class UndeliverableAddress(Base):
    """What the mail providers said about an address: bouncing softly, or undeliverable.

    Not a consent: no ledger event. Keyed by the address's digest, so a subject
    who corrects their address (another digest) is no longer marked.
    """

    __tablename__ = "undeliverable_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    # 'bouncing' (soft bounces, fewer than the limit) or 'undeliverable'.
    state: Mapped[str] = mapped_column(String(16))
    # 'hard_bounce' or 'soft_bounces': why it is undeliverable (None while bouncing).
    reason: Mapped[str | None] = mapped_column(String(16))
    soft_bounces: Mapped[int] = mapped_column(Integer, default=0)
    # The messages those soft bounces were (keyed digests of the provider's message ids), so that a
    # message reported twice counts once; emptied by a delivery.
    soft_bounce_messages: Mapped[list[str] | None] = mapped_column(JSON)
    last_bounce_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The provider's diagnostic, short, the address itself taken out.
    detail: Mapped[str | None] = mapped_column(String(200))
    provider: Mapped[str | None] = mapped_column(String(40))
