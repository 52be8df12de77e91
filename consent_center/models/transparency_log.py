from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from consent_center.db import Base, UTCDateTime
from consent_center.models.consent import EventId


class LogState(Base):
    """How far the transparency log has integrated the ledger (one row, id 1).

    Every integrator updates it first: the row lock (PostgreSQL) or the
    writer lock (SQLite) lets one integrator at a time assign log indexes.
    ``last_txid``/``last_event_id`` are the change feed's cursor of the last
    event integrated (ledger/feed.py).
    """

    __tablename__ = "log_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    last_txid: Mapped[int] = mapped_column(BigInteger)
    last_event_id: Mapped[int] = mapped_column(BigInteger)


class LogLeaf(Base):
    """The consent event at one index of the transparency log."""

    __tablename__ = "log_leaves"

    index: Mapped[int] = mapped_column("idx", BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(EventId, ForeignKey("consent_events.id"), unique=True)


class LogNode(Base):
    """The hash of a perfect subtree: the ``2**level`` leaves from ``index * 2**level`` on.

    Level 0 holds the leaf hashes. As C2SP tlog-tiles stores full tiles,
    only complete subtrees are stored, so a stored node never changes.
    """

    __tablename__ = "log_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column("idx", BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LogCheckpoint(Base):
    """A signed checkpoint of the log (C2SP tlog-checkpoint in a signed note)."""

    __tablename__ = "log_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, unique=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # The verifier key's hash (8 hex digits), so a rotated key's checkpoints are known.
    key_hash: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
