"""Fresh databases for tests: one migrated template per run, a copy per test.

SQLite by default. ``CONSENT_TEST_DATABASE_URL`` set to a PostgreSQL URL
(as ``.ci/run`` does) runs the whole suite on PostgreSQL: the template is
built there by the migrations and each test gets ``CREATE DATABASE …
TEMPLATE``. Tests that need PostgreSQL whatever the backend use
``CONSENT_TEST_POSTGRES_URL`` (default: the local server) and skip, saying
why, when none answers.
"""
from __future__ import annotations

import itertools
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from consent_center.extensions import make_engine
from consent_center.migrate import upgrade

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ROOT = Path(__file__).resolve().parent.parent


def backend_url() -> str | None:
    return os.environ.get("CONSENT_TEST_DATABASE_URL") or None


def postgres_url() -> str:
    explicit = os.environ.get("CONSENT_TEST_POSTGRES_URL")
    if explicit:
        return explicit
    return backend_url() if is_pg(backend_url()) else DEFAULT_POSTGRES_URL


def is_pg(url: str | None) -> bool:
    return bool(url) and url.startswith("postgresql")


def postgres_unreachable_reason(url: str) -> str | None:
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means: skip, and say why
        return f"PostgreSQL not reachable at {make_url(url).render_as_string(hide_password=True)}: {exc.__class__.__name__}"
    finally:
        engine.dispose()
    return None


class SqliteDatabases:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.template = workdir / "template.sqlite3"
        engine = make_engine(f"sqlite:///{self.template}")
        upgrade(engine)
        engine.dispose()
        self._counter = itertools.count()

    def create(self) -> str:
        path = self.workdir / f"test-{next(self._counter)}.sqlite3"
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        path = Path(make_url(url).database)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        pass


class PostgresDatabases:
    """A migrated template, and a fresh copy of it for each test.

    Each copy is ``CREATE DATABASE … TEMPLATE … STRATEGY WAL_LOG`` (about
    0.1 s, where ``FILE_COPY`` checkpoints twice: 0.3 to 0.7 s), and a
    thread keeps ``ready`` copies made in advance, so a test does not wait
    for its database, and still gets one no other test has touched. Each
    ``DROP DATABASE`` waits for a checkpoint (0.5 s on a quiet server, many
    seconds on a busy one): the used copies are dropped in batches of
    ``batch``, ``parallel`` at a time, so that the drops of a batch share
    their checkpoints (the server spends about 50 ms of CPU a drop four at
    a time, 20 ms twenty at a time), by a process of their own (``sweep``) that nothing
    waits for: neither a test nor the end of the run (which waited 25 to 40 s
    for the last batch and the sweep on a busy server, counted as the
    teardown of whichever test ran last). Each process (each xdist worker)
    has its own template, copies and thread.
    """

    def __init__(self, server_url: str, *, ready: int = 2, batch: int = 40, parallel: int = 20) -> None:
        self.server_url = make_url(server_url)
        self.admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        wait_for_room(self.admin)
        self.template = f"cc_tmpl_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.template}"'))
        engine = make_engine(self._url(self.template))
        upgrade(engine)
        engine.dispose()
        self._counter = itertools.count()
        self._ready_size = ready
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._taken: queue.Queue[bool] = queue.Queue()  # True when a copy is taken, False to stop
        self._maker: threading.Thread | None = None
        self._batch, self._parallel = batch, parallel
        self._used: list[str] = []
        self._sweeper: subprocess.Popen | None = None

    def _url(self, name: str) -> str:
        return self.server_url.set(database=name).render_as_string(hide_password=False)

    def _make_copies(self) -> None:
        try:
            with self.admin.connect() as conn:
                while True:
                    while self._ready.qsize() < self._ready_size:
                        name = f"{self.template}_{next(self._counter)}"
                        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}" STRATEGY WAL_LOG'))
                        self._ready.put(name)
                    if not self._taken.get():
                        return
        except BaseException as exc:  # handed to the test waiting for a database
            self._ready.put(exc)

    def create(self) -> str:
        if self._maker is None:
            self._maker = threading.Thread(target=self._make_copies, name="test-database-copies", daemon=True)
            self._maker.start()
        name = self._ready.get(timeout=300)
        if isinstance(name, BaseException):
            raise RuntimeError("could not make a test database") from name
        self._taken.put(True)
        return self._url(name)

    def create_empty(self) -> str:
        name = f"{self.template}_empty_{next(self._counter)}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return self._url(name)

    def drop(self, url: str) -> None:
        # Cleaning up is not the test's business: a drop that fails is swept again by close().
        self._used.append(make_url(url).database)
        # One sweep at a time: each DROP waits for a checkpoint, which on a busy server
        # can take minutes; sweeps started beside it would pile up their connections
        # until the server refuses clients. Meanwhile the next batch only grows.
        if len(self._used) >= self._batch and (self._sweeper is None or self._sweeper.poll() is not None):
            self._sweeper = sweep(self.server_url, self._used, self._parallel)
            self._used = []

    def close(self) -> None:
        if self._maker is not None:
            self._taken.put(False)
            self._maker.join()
        with self.admin.connect() as conn:  # the copies made ahead, the empty ones, any a drop missed
            names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :prefix"),
                                 {"prefix": self.template.replace("_", r"\_") + r"\_%"}).scalars().all()
        # Few at a time: nothing waits for this last sweep, and a run started right after this one
        # would otherwise find the server's connections taken by it (too many clients).
        sweep(self.server_url, sorted({*self._used, *names}) + [self.template], min(self._parallel, 4))
        self.admin.dispose()


# The server's connections for clients, and those running drops of test databases (sweeps).
SWEEPS_HOLD = text("""
    SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int,
           count(*) FILTER (WHERE state = 'active' AND query LIKE 'DROP DATABASE IF EXISTS "cc\\_tmpl\\_%')
    FROM pg_stat_activity""")


def wait_for_room(admin, share: float = 0.2, timeout: float = 120) -> float:
    """Wait until sweeps hold at most ``share`` of the server's connections, at most ``timeout`` s;
    return the wait.

    A run's sweeps end after it, holding up to twenty connections a process while their drops wait
    for checkpoints; a run started meanwhile (``make test`` again) found the server full and failed
    by the dozen (too many clients). Two processes of one run need about 60 of 100 at their peak.
    Only the sweeps count: a server busy with other clients is not ours to wait for.
    """
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        try:
            with admin.connect() as conn:
                usable, sweeping = conn.execute(SWEEPS_HOLD).one()
            if sweeping <= share * usable:
                break
        except OperationalError:  # full: not even this connection
            pass
        time.sleep(0.5)
    return time.monotonic() - began


# Never waited for; held so that none is collected while it runs (a ResourceWarning).
_SWEEPERS: list[subprocess.Popen] = []


def sweep(server_url, names: list[str], parallel: int) -> subprocess.Popen:
    """Drop these databases from a process of its own, which outlives the run if it must
    (``tests.drop_databases``)."""
    conninfo = server_url.set(drivername="postgresql").render_as_string(hide_password=False)
    process = subprocess.Popen([sys.executable, "-m", "tests.drop_databases", str(parallel), *names], cwd=ROOT,
                               env={**os.environ, "CONSENT_TEST_DROP_URL": conninfo},
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)
    _SWEEPERS.append(process)
    return process
