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
import shutil
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from consent_center.extensions import make_engine
from consent_center.migrate import upgrade

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def backend_url() -> str | None:
    return os.environ.get("CONSENT_TEST_DATABASE_URL") or None


def postgres_url() -> str:
    explicit = os.environ.get("CONSENT_TEST_POSTGRES_URL")
    if explicit:
        return explicit
    return backend_url() if _is_pg(backend_url()) else DEFAULT_POSTGRES_URL


def _is_pg(url: str | None) -> bool:
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
    def __init__(self, server_url: str) -> None:
        self.server_url = make_url(server_url)
        self.admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        self.template = f"cc_tmpl_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.template}"'))
        engine = make_engine(self._url(self.template))
        upgrade(engine)
        engine.dispose()
        self._counter = itertools.count()

    def _url(self, name: str) -> str:
        return self.server_url.set(database=name).render_as_string(hide_password=False)

    def create(self) -> str:
        name = f"{self.template}_{next(self._counter)}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}" STRATEGY FILE_COPY'))
        return self._url(name)

    def create_empty(self) -> str:
        name = f"{self.template}_empty_{next(self._counter)}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return self._url(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)'))
        self.admin.dispose()
