"""Reads from PostgreSQL streaming replicas, never staler than allowed.

``CONSENT_READ_DATABASE_URL`` names one or more hot standbys (comma-separated);
the checks, the feed and the exports read from one of them when it is fresh
enough, else from the primary:

- a replica serves only while it is known to hold everything the primary had
  committed at most ``CONSENT_READ_MAX_LAG_MS`` ago, and
- with a consistency token (``after=``: the WAL position a write's answer
  carried in ``Consent-Consistency-Token``), only once it has replayed past
  it, read again on the very connection that serves, so a tool that withdrew
  someone and checks with the token never hears "allowed" from before the
  withdrawal;
- the lag bound is kept by probes, one at a time per process: a probe reads
  the primary's WAL insert position, then the replica's replay position; a
  replica that has replayed past a position the primary had at time T holds
  every commit visible at T (replay only moves forward);
- a replica that fails to answer is left alone for a while (``RETRY_SECONDS``).

Each URL must name one standby (not a load balancer in front of several): the
positions seen are a standby's own.

Each answer names where it came from (``served_by``); the counters say how
often the primary stood in, and why.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from consent_center.db.compiled import STATEMENTS
from consent_center.db.pooler import postgres_connect_args

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
    fresh: bool = True  # as last said in the log
    probed_at: float = float("-inf")


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
    pooled: bool = False  # the URLs lead to a pooler in transaction mode (CONSENT_DATABASE_POOLER)
    fallbacks: Counter = field(default_factory=Counter)
    served: Counter = field(default_factory=Counter)
    _primary_positions: deque = field(default_factory=lambda: deque(maxlen=_HISTORY))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _probing: threading.Lock = field(default_factory=threading.Lock)
    _next: int = 0

    def choose(self) -> Choice:
        """A replica within the lag bound, else the primary (``reading`` checks a token on the connection)."""
        reason = "lagging"
        now = time.monotonic()
        for replica in self._in_turn():
            if replica.down_until > now:
                reason = "unreachable"
                continue
            try:
                if self._fresh_enough(replica, now):
                    return Choice(replica.engine, replica.name)
                reason = "lagging"
            except (SQLAlchemyError, NotAStandby) as error:
                self.left_alone(replica, error)
                reason = "unreachable"
        return self._primary(reason)

    @contextmanager
    def reading(self, token: int | None = None) -> Iterator[tuple[Connection, Choice]]:
        """An autocommit connection for a quick read, and where it comes from.

        With a token, the chosen replica's replay position is read again on
        this very connection, before the read's own snapshot: a standby
        restarted behind what was seen earlier, or a name that leads to
        another standby, falls back to the primary rather than answer from
        before the token."""
        choice = self.choose()
        replica = self._named(choice.served_by)
        connection = None
        if replica is not None:
            try:
                connection = replica.engine.connect()
                # Through a pooler in transaction mode each statement outside a transaction may run on
                # another server connection, even another standby's: the position and the read share one.
                if token is None or not self.pooled:
                    connection.execution_options(isolation_level="AUTOCOMMIT")
                if time.monotonic() - replica.fresh_as_of > self.max_lag:  # the wait for a connection aged it
                    connection.close()
                    connection, choice = None, self._primary("lagging")
                elif token is not None:
                    replayed = connection.execute(_REPLAYED).scalar_one()
                    if replayed is None or parse_token(str(replayed)) < token:
                        connection.close()
                        connection, choice = None, self._primary("behind-token")
            except (SQLAlchemyError, NotAStandby) as error:  # a pool timeout too: the primary answers
                if connection is not None:
                    connection.close()
                self.left_alone(replica, error)
                connection, choice = None, self._primary("unreachable")
        if connection is None:
            connection = self.primary.connect()
        else:
            self.served[choice.served_by] += 1
        try:
            yield connection, choice
        except DBAPIError as error:
            if replica is not None and choice.served_by == replica.name and error.connection_invalidated:
                self.left_alone(replica, error)  # the replica went away: this read fails, the next go elsewhere
            raise
        finally:
            connection.close()

    def left_alone(self, replica: Replica, error: BaseException) -> None:
        replica.down_until = time.monotonic() + RETRY_SECONDS
        replica.engine.dispose()
        log.warning("read replica %s unreachable, left alone for %ss: %s", replica.name, RETRY_SECONDS,
                    getattr(error, "orig", None) or error)

    def _primary(self, reason: str) -> Choice:
        self.fallbacks[reason] += 1
        self.served["primary"] += 1
        return Choice(self.primary, "primary", reason)

    def _named(self, name: str) -> Replica | None:
        return next((r for r in self.replicas if r.name == name), None)

    def _in_turn(self) -> list[Replica]:
        with self._lock:
            start, self._next = self._next, (self._next + 1) % max(len(self.replicas), 1)
        return self.replicas[start:] + self.replicas[:start]

    def _fresh_enough(self, replica: Replica, now: float) -> bool:
        # Always within the lag bound: an old token must not make a stale replica acceptable. The
        # token itself is checked on the serving connection (``reading``), not here.
        stale = now - replica.fresh_as_of > self.max_lag
        # At most one probe every quarter of the bound per replica, and one at a time: a busy
        # process does not double every read with a probe, and a stuck replica costs little.
        if stale and now - replica.probed_at >= self.max_lag / 4 and self._probing.acquire(blocking=False):
            try:
                replica.probed_at = now
                self._probe(replica)
            finally:
                self._probing.release()
        fresh = time.monotonic() - replica.fresh_as_of <= self.max_lag
        if fresh != replica.fresh:
            replica.fresh = fresh  # said once per change, not per read: the counters keep the tally
            log.log(logging.INFO if fresh else logging.WARNING, "read replica %s %s (fallbacks so far: %s)",
                    replica.name, "within the lag bound again" if fresh else "past the lag bound: the primary answers",
                    dict(self.fallbacks))
        return fresh

    def _probe(self, replica: Replica) -> None:
        # The primary's position first: every commit visible now on it has its record below this position.
        # One every sixteenth of the bound is enough, and keeps the history spanning four bounds:
        # a replica behind by less than the bound always finds a position it has passed.
        at = time.monotonic()
        if not self._primary_positions or at - self._primary_positions[-1][0] >= self.max_lag / 16:
            with self.primary.connect() as connection:
                position = parse_token(str(connection.execute(_INSERTED).scalar_one()))
                connection.rollback()
            with self._lock:
                self._primary_positions.append((at, position))
        with replica.engine.connect() as connection:
            replayed = connection.execute(_REPLAYED).scalar_one()
            connection.rollback()
        if replayed is None:
            raise NotAStandby(f"{replica.name} is not a standby (no replay position)")
        with self._lock:
            replica.replayed = max(replica.replayed, parse_token(str(replayed)))
            passed = [at for at, position in self._primary_positions if position <= replica.replayed]
            if passed:
                replica.fresh_as_of = max(replica.fresh_as_of, max(passed))

    def dispose(self) -> None:
        for replica in self.replicas:
            replica.engine.dispose()


_INSERTED = text("SELECT pg_current_wal_insert_lsn()")
_REPLAYED = text("SELECT pg_last_wal_replay_lsn()")


def make_replica_set(primary: Engine, urls: list[str], max_lag_ms: int, pool_size: int,
                     *, pooler: str = "none", json_serializer=None) -> ReplicaSet | None:
    """The replicas of ``CONSENT_READ_DATABASE_URL``, or None when there are none (or the primary is SQLite).

    ``json_serializer``: the primary's, so that their engines share its compiled statements (``db.compiled``)."""
    if not urls:
        return None
    if primary.dialect.name != "postgresql":
        raise RuntimeError("CONSENT_READ_DATABASE_URL names PostgreSQL replicas of a PostgreSQL primary")
    # Transactions by default (the feed's and the export's sessions); quick reads ask for autocommit.
    # A half-open connection must not hold a check for minutes: TCP keepalives and a user timeout.
    connect_args = {"connect_timeout": 2, "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
                    "keepalives_count": 2, "tcp_user_timeout": 10000, **postgres_connect_args(pooler)}
    replicas = [Replica(f"replica-{number}", STATEMENTS.create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=280, pool_timeout=1,
        connect_args=connect_args, **({"json_serializer": json_serializer} if json_serializer else {})))
        for number, url in enumerate(urls, start=1)]
    return ReplicaSet(primary, replicas, max_lag_ms / 1000, pooled=pooler == "transaction")


def commit_position(connection) -> str | None:
    """The WAL position after a commit on PostgreSQL: the token of what was just written."""
    if connection.dialect.name != "postgresql":
        return None
    return str(connection.execute(text("SELECT pg_current_wal_insert_lsn()")).scalar_one())
