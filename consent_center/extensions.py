"""Extension instances; the app factory binds them with ``init_app``."""
from __future__ import annotations

from contextlib import contextmanager

from flask import Flask, has_request_context, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session, sessionmaker


# Execution option of the connections ``quick_read`` hands out (SQLite).
QUICK_READ = "consent_quick_read"


class Database:
    """An engine and a request-scoped session, bound to one app."""

    def __init__(self) -> None:
        self.session_factory = sessionmaker(expire_on_commit=False)
        self.session: scoped_session[Session] = scoped_session(self.session_factory)
        self.engine: Engine | None = None

    def init_app(self, app: Flask) -> None:
        self.engine = make_engine(app.config["DATABASE_URL"], app.config.get("DATABASE_POOL_SIZE", 5))
        self.session_factory.configure(bind=self.engine)
        app.extensions["consent_db"] = self

        @app.teardown_appcontext
        def remove_session(exc: BaseException | None) -> None:
            self.session.remove()


@contextmanager
def quick_read(engine: Engine):
    """Yield a pooled Core connection outside any transaction, for hot reads.

    The consent check and API-key lookups read one or two indexed rows: a
    transaction around them is a BEGIN and a ROLLBACK for nothing (two
    round trips on PostgreSQL), and on SQLite a POST would take the write
    lock (BEGIN IMMEDIATE). A single UPDATE run here commits by itself.
    """
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.execution_options(**{QUICK_READ: True})
        else:
            connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


def make_engine(url: str, pool_size: int = 5) -> Engine:
    """Create the engine with the settings each backend needs."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            # Python's sqlite3 opens transactions lazily; BEGIN IMMEDIATE on
            # our side makes every writer take the lock up front (see begin).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:
            if conn.get_execution_options().get(QUICK_READ):
                return  # each statement its own implicit transaction (quick_read)
            conn.exec_driver_sql("BEGIN" if _is_read_only_request() else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


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
