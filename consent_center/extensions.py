"""Extension instances; the app factory binds them with ``init_app``."""
from __future__ import annotations

from contextlib import contextmanager

from flask import Flask, has_request_context, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from consent_center.canonical import stored_json
from consent_center.db.compiled import STATEMENTS
from consent_center.db.pooler import postgres_connect_args
from consent_center.db.replicas import ReplicaSet, make_replica_set


# Execution option of the connections ``quick_read`` hands out (SQLite).
QUICK_READ = "consent_quick_read"
# Without a ping per checkout, a connection idle longer than a firewall's or
# PgBouncer's idle timeout would fail its next request: replace it before.
POOL_RECYCLE_SECONDS = 280
SQLITE_BUSY_TIMEOUT_MS = 30000
# How long the checkpoint after an erasure waits for readers: a request must not hang on it.
CHECKPOINT_BUSY_TIMEOUT_MS = 200


class Database:
    """An engine and a request-scoped session, bound to one app, and the engine of ``quick_read``."""

    def __init__(self) -> None:
        self.session_factory = sessionmaker(expire_on_commit=False)
        self.session: scoped_session[Session] = scoped_session(self.session_factory)
        self.engine: Engine | None = None
        self.read_engine: Engine | None = None
        self.replicas: ReplicaSet | None = None

    def init_app(self, app: Flask) -> None:
        if self.read_engine is not None and self.read_engine is not self.engine:
            self.read_engine.dispose()  # the previous app's (tests build many)
        if self.replicas is not None:
            self.replicas.dispose()
        pool_size = app.config.get("DATABASE_POOL_SIZE", 5)
        pooler = app.config.get("DATABASE_POOLER", "none")
        self.engine = make_engine(app.config["DATABASE_URL"], pool_size, pooler=pooler)
        self.read_engine = make_read_engine(self.engine, pool_size, pooler=pooler)
        self.replicas = make_replica_set(self.read_engine, app.config.get("READ_DATABASE_URLS") or [],
                                         app.config.get("READ_MAX_LAG_MS", 200), pool_size, pooler=pooler,
                                         json_serializer=stored_json)
        self.session_factory.configure(bind=self.engine)
        app.extensions["consent_db"] = self

        @app.teardown_appcontext
        def remove_session(exc: BaseException | None) -> None:
            self.session.remove()


    def dispose(self) -> None:
        for engine in {self.engine, self.read_engine} - {None}:
            engine.dispose()
        if self.replicas is not None:
            self.replicas.dispose()


@contextmanager
def quick_read(engine: Engine | None = None):
    """Yield a pooled Core connection outside any transaction, for hot reads.

    The consent check and API-key lookups read one or two indexed rows: a
    transaction around them is a BEGIN and a ROLLBACK for nothing (two
    round trips on PostgreSQL), and on SQLite a POST would take the write
    lock (BEGIN IMMEDIATE). A single UPDATE run here commits by itself.
    The connections come from ``db.read_engine`` unless ``engine`` is given.
    """
    engine = engine or db.read_engine
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.execution_options(**{QUICK_READ: True})
        elif engine is not db.read_engine:
            connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


def make_read_engine(engine: Engine, pool_size: int, *, pooler: str = "none") -> Engine:
    """The engine of ``quick_read``: on PostgreSQL a pool of its own, in autocommit, unpinged.

    Autocommit spares a read its BEGIN and ROLLBACK. No ping per checkout
    either (neither engine pings: a round trip would cost the consent check
    a quarter of its time): a stale connection fails one read, and the
    disconnect invalidates the whole pool, so the next request reconnects.
    SQLite shares the main engine (``QUICK_READ`` leaves its transactions out).
    """
    if engine.dialect.name == "sqlite":
        return engine
    # The primary's JSON writer too (it writes none): engines alike share compiled statements (db.compiled).
    return STATEMENTS.create_engine(engine.url, pool_size=pool_size, max_overflow=pool_size,
                                    isolation_level="AUTOCOMMIT", pool_recycle=POOL_RECYCLE_SECONDS,
                                    connect_args=postgres_connect_args(pooler), json_serializer=stored_json)


def make_engine(url: str, pool_size: int = 5, *, pooler: str = "none") -> Engine:
    """Create the engine with the settings each backend needs."""
    if url.startswith("sqlite"):
        engine = STATEMENTS.create_engine(url, connect_args={"timeout": 30}, json_serializer=stored_json)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            # Python's sqlite3 opens transactions lazily; BEGIN IMMEDIATE on
            # our side makes every writer take the lock up front (see begin).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            # A deleted or overwritten row's bytes are zeroed, not left in free
            # pages where a copy of the file would keep an erased person.
            cursor.execute("PRAGMA secure_delete=ON")
            # Reads of the check and the export: the file mapped rather than
            # copied through read(), and a 16 MB page cache per connection.
            cursor.execute("PRAGMA mmap_size=1073741824")
            cursor.execute("PRAGMA cache_size=-16384")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:
            if conn.get_execution_options().get(QUICK_READ):
                return  # each statement its own implicit transaction (quick_read)
            conn.exec_driver_sql("BEGIN" if _is_read_only_request() else "BEGIN IMMEDIATE")

        return engine
    # No ping per checkout (a round trip per request): after a database restart
    # a stale connection fails one request, the disconnect invalidates the
    # pool, and the next requests reconnect.
    return STATEMENTS.create_engine(url, pool_size=pool_size, max_overflow=pool_size,
                                    pool_recycle=POOL_RECYCLE_SECONDS, json_serializer=stored_json,
                                    connect_args=postgres_connect_args(pooler))


def checkpoint_wal(engine: Engine) -> bool:
    """On SQLite, copy the WAL into the database file and empty it; return whether it completed.

    The WAL holds every page version written since the last checkpoint, an
    erased person's included. Best effort: a reader still on an older
    snapshot makes it busy (False), and a later checkpoint overwrites them.
    """
    if engine.dialect.name != "sqlite":
        return True
    try:
        with engine.connect() as connection:
            connection.execution_options(**{QUICK_READ: True})  # no BEGIN: a checkpoint runs outside a transaction
            connection.exec_driver_sql(f"PRAGMA busy_timeout={CHECKPOINT_BUSY_TIMEOUT_MS}")
            try:
                busy = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()[0]
            finally:
                connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    except OperationalError:
        return False
    return not busy


def _is_read_only_request() -> bool:
    # GET and HEAD never write (invariant 6), so they may share the file;
    # everything else takes SQLite's write lock at BEGIN, which serialises
    # writers instead of failing one of them halfway (invariant 4).
    return has_request_context() and request.method in ("GET", "HEAD", "OPTIONS")


db = Database()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
