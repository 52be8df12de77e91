from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, FetchedValue, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consent_center.db import Base, UTCDateTime
from consent_center.models.channel import Channel
from consent_center.models.policy import PolicyVersion
from consent_center.models.receipt import Receipt
from consent_center.models.subject import Subject

# SQLite only aliases INTEGER PRIMARY KEY to the rowid.
EventId = BigInteger().with_variant(Integer(), "sqlite")


class ConsentEvent(Base):
    """One change of one channel for one subject. Never updated or deleted."""

    __tablename__ = "consent_events"
    __table_args__ = (
        UniqueConstraint("subject_id", "seq"),
        Index("ix_consent_events_channel_id_id", "channel_id", "id"),
        Index("ix_consent_events_txid_id", "txid", "id"),
    )

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    # Position in the subject's chain: 1, 2, 3 …
    seq: Mapped[int] = mapped_column(Integer)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    status: Mapped[str] = mapped_column(String(16))
    previous_status: Mapped[str | None] = mapped_column(String(16))
    basis: Mapped[str] = mapped_column(String(32))
    event_type: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    policy_version_id: Mapped[int | None] = mapped_column(ForeignKey("policy_versions.id"))
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    evidence: Mapped[dict | None] = mapped_column(JSON)
    trace: Mapped[dict | None] = mapped_column(JSON)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # PostgreSQL fills it (migration 0005) with the writing transaction's id,
    # so the change feed can wait for a transaction that took a lower event
    # id but has not committed yet (feed.py). NULL on SQLite, whose writers
    # are serialised and so commit in id order. Not hashed: it says when the
    # row was stored, not what happened.
    txid: Mapped[int | None] = mapped_column(BigInteger, server_default=FetchedValue())

    subject: Mapped[Subject] = relationship()
    channel: Mapped[Channel] = relationship(lazy="joined")
    policy_version: Mapped[PolicyVersion | None] = relationship(lazy="joined")
    receipt: Mapped[Receipt] = relationship()

    def __repr__(self) -> str:
        return f"<ConsentEvent {self.id} {self.subject_id}#{self.seq} {self.status}>"


class ConsentState(Base):
    """The current status of one channel for one subject (what check reads)."""

    __tablename__ = "consent_states"

    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    basis: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[int] = mapped_column(EventId, ForeignKey("consent_events.id"))
    policy_version_id: Mapped[int | None] = mapped_column(ForeignKey("policy_versions.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    channel: Mapped[Channel] = relationship(lazy="joined")
    policy_version: Mapped[PolicyVersion | None] = relationship(lazy="joined")
    event: Mapped[ConsentEvent] = relationship()


class CanonicalJsonSince(Base):
    """The first event stored with canonical JSON evidence and trace (one row, migration 0011).

    From it on, the stored text is what the export writes, so PostgreSQL can
    build export lines itself (export_sql.py); events before it were stored
    as ``json.dumps`` left them and are made canonical in Python.
    """

    __tablename__ = "canonical_json_since"

    first_event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
