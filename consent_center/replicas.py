"""Reads from PostgreSQL streaming replicas, never staler than allowed.

``CONSENT_READ_DATABASE_URL`` names one or more hot standbys (comma-separated);
the checks, the feed and the exports read from one of them when it is fresh
enough, else from the primary:

- with a consistency token (``after=``: the WAL position a write's answer
  carried in ``Consent-Consistency-Token``), a replica serves only once it has
  replayed past it, so a tool that withdrew someone and checks with the token
  can never hear "allowed" from a replica that has not seen the withdrawal;
- without one, a replica serves while it is known to hold everything the
  primary had committed at most ``CONSENT_READ_MAX_LAG_MS`` ago: a probe reads
  the primary's WAL insert position, then the replica's replay position; a
  replica that has replayed past a position the primary had at time T holds
  every commit visible at T (replay only moves forward);
- a replica that fails to answer is left alone for a while (``RETRY_SECONDS``).

Each answer names where it came from (``served_by``); the counters say how
often the primary stood in, and why.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0
# A probe also keeps the primary's position for this long, so a replica a little behind still
# finds a position it has passed (its staleness is then the age of that position).
_HISTORY = 64
_LSN = re.compile(r"([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})")


class BadToken(ValueError):
    """A consistency token that is not a WAL position."""


class NotAStandby(RuntimeError):
    """A read database that is not a hot standby: it has no replay position."""


def parse_token(token: str) -> int:
    """A consistency token (PostgreSQL's ``pg_lsn`` text, ``16/B374D848``) as a number."""
    match = _LSN.fullmatch(token.strip())
    if match is None:
        raise BadToken("a consistency token is a WAL position such as 16/B374D848")
    return (int(match.group(1), 16) << 32) | int(match.group(2), 16)


def format_token(position: int) -> str:
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


@dataclass
class Replica:
    name: str
    engine: Engine
    replayed: int = -1  # the replay position last read (it only grows)
    fresh_as_of: float = float("-inf")  # monotonic time of the primary's position it was known to hold
    down_until: float = 0.0


@dataclass
class Choice:
    """Where one read goes: an engine, and what the answer's header says."""

    engine: Engine
    served_by: str  # "replica-1", or "primary" …
    reason: str | None = None  # … and why the primary: "lagging", "behind-token", "unreachable"

    @property
    def header(self) -> str:
        return self.served_by if self.reason is None else f"{self.served_by}; reason={self.reason}"


@dataclass
class ReplicaSet:
    primary: Engine
    replicas: list[Replica]
    max_lag: float  # seconds
    fallbacks: Counter = field(default_factory=Counter)
    served: Counter = field(default_factory=Counter)
    _primary_positions: deque = field(default_factory=lambda: deque(maxlen=_HISTORY))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next: int = 0

    def choose(self, token: int | None = None) -> Choice:
        """A replica fresh enough for this read (past ``token`` when given), else the primary."""
        reason = "lagging"
        now = time.monotonic()
        for replica in self._in_turn():
            if replica.down_until > now:
                reason = "unreachable"
                continue
            try:
                if self._fresh_enough(replica, token, now):
                    self.served[replica.name] += 1
                    return Choice(replica.engine, replica.name)
                reason = "behind-token" if token is not None else "lagging"
            except (DBAPIError, NotAStandby) as error:
                replica.down_until = time.monotonic() + RETRY_SECONDS
                replica.engine.dispose()
                reason = "unreachable"
                log.warning("read replica %s unreachable, left alone for %ss: %s", replica.name, RETRY_SECONDS,
                            getattr(error, "orig", None) or error)
        self.fallbacks[reason] += 1
        self.served["primary"] += 1
        return Choice(self.primary, "primary", reason)

    def _in_turn(self) -> list[Replica]:
        with self._lock:
            start, self._next = self._next, (self._next + 1) % max(len(self.replicas), 1)
        return self.replicas[start:] + self.replicas[:start]

    def _fresh_enough(self, replica: Replica, token: int | None, now: float) -> bool:
        if token is not None:
            if replica.replayed >= token:
                return True  # replay only moves forward: a snapshot taken now includes the token's commit
            self._probe(replica)
            return replica.replayed >= token
        if now - replica.fresh_as_of <= self.max_lag:
            return True
        self._probe(replica, with_primary=True)
        return time.monotonic() - replica.fresh_as_of <= self.max_lag

    def _probe(self, replica: Replica, *, with_primary: bool = False) -> None:
        if with_primary:
            # Before the replica's: every commit visible now on the primary has its record below this position.
            at = time.monotonic()
            with self.primary.connect() as connection:
                position = connection.execute(text("SELECT pg_current_wal_insert_lsn()")).scalar_one()
                connection.rollback()
            self._primary_positions.append((at, parse_token(str(position))))
        with replica.engine.connect() as connection:
            replayed = connection.execute(text("SELECT pg_last_wal_replay_lsn()")).scalar_one()
            connection.rollback()
        if replayed is None:
            raise NotAStandby(f"{replica.name} is not a standby (no replay position)")
        replica.replayed = max(replica.replayed, parse_token(str(replayed)))
        passed = [at for at, position in self._primary_positions if position <= replica.replayed]
        if passed:
            replica.fresh_as_of = max(replica.fresh_as_of, max(passed))

    def dispose(self) -> None:
        for replica in self.replicas:
            replica.engine.dispose()


def make_replica_set(primary: Engine, urls: list[str], max_lag_ms: int, pool_size: int) -> ReplicaSet | None:
    """The replicas of ``CONSENT_READ_DATABASE_URL``, or None when there are none (or the primary is SQLite)."""
    if not urls:
        return None
    if primary.dialect.name != "postgresql":
        raise RuntimeError("CONSENT_READ_DATABASE_URL names PostgreSQL replicas of a PostgreSQL primary")
    # Transactions by default (the feed's and the export's sessions); quick reads ask for autocommit.
    replicas = [Replica(f"replica-{number}", create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=280, connect_args={"connect_timeout": 2}))
        for number, url in enumerate(urls, start=1)]
    return ReplicaSet(primary, replicas, max_lag_ms / 1000)


def commit_position(connection) -> str | None:
    """The WAL position after a commit on PostgreSQL: the token of what was just written."""
    if connection.dialect.name != "postgresql":
        return None
    return str(connection.execute(text("SELECT pg_current_wal_insert_lsn()")).scalar_one())
