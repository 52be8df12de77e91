from __future__ import annotations

import contextvars
import os
import re

import pytest
from flask.testing import FlaskClient
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from sqlalchemy import select

from consent_center import create_app
from consent_center.accounts.service import create_account
from consent_center.extensions import db as database
from consent_center.ledger import Actor
from consent_center.models import Account, Role

from .dbs import (PostgresDatabases, SqliteDatabases, is_pg, backend_url, postgres_unreachable_reason,
                  postgres_url)

PASSWORD = "correct horse battery"

pytest_plugins = ["tests.api_fixtures", "tests.mail_fixtures"]


# Tests that start processes or servers of their own (gunicorn and its workers,
# spawned writers, Chromium). Under pytest-xdist (`make test`: one process per
# core) they all run on one worker, one after the other, so that they never
# fight each other for the cores while the other worker goes on with the rest.
# Matched on the node id's start: a folder, a file or one test.
OWN_PROCESSES = (
    "tests/browser/",
    "tests/test_concurrency.py",
    "tests/test_deploy_nginx.py",
    "tests/test_desk_races.py",
    "tests/test_outbox_workers.py",
    "tests/test_single_use_links.py",
    "tests/test_worker_crash.py",
    "tests/test_wheel.py",
    "tests/test_receipts.py::test_workers_starting_together_agree_on_one_key",
    "tests/test_hot_paths.py::test_the_production_entry_point_freezes_what_its_import_built",
)
# The longest single tests (tens of seconds each): started first, so that no
# worker is left with one of them at the end while the other waits.
LONGEST = (
    "tests/test_import.py::test_import_of_two_thousand_rows_with_bad_rows",
    "tests/test_ledger_properties.py::test_random_histories_keep_invariants_1_to_3",
    "tests/test_export.py::test_memory_stays_flat_over_80000_events",
)


def pytest_configure(config):
    config.addinivalue_line("markers", "settings(**kw): app settings for one test")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(OwnProcessesTogether(), "consent-own-processes-together")


def pytest_collection_modifyitems(config, items):
    if is_pg(backend_url()):
        # A test run both on the suite's backend and on PostgreSQL ("suite" and
        # "postgres" params of one fixture) would run twice on PostgreSQL.
        twice = [item for item in items if _on_postgres_besides_the_suite(item)]
        if twice:
            config.hook.pytest_deselected(items=twice)
            items[:] = [item for item in items if item not in twice]
        if not os.environ.get("CONSENT_TEST_BROWSER_ON_POSTGRES"):
            for item in items:
                if item.nodeid.startswith("tests/browser/"):
                    item.add_marker(BROWSER_ONCE)
        for item in items:
            if _database_independent(item):
                item.add_marker(DATABASE_INDEPENDENT_ONCE)
    # The group first (one unit of work, given to a worker at once), then the longest tests.
    items.sort(key=lambda item: (not item.nodeid.startswith(OWN_PROCESSES), not item.nodeid.startswith(LONGEST)))


# What a browser sees (layout, keyboard, accessibility, translations, scripts)
# does not depend on the database; every page and journey is also tested over
# HTTP on both. So CI's second pass, on PostgreSQL, does not drive Chromium again.
BROWSER_ONCE = pytest.mark.skip(reason="the browser tests run in the SQLite pass: what a browser sees does not depend "
                                       "on the database (CONSENT_TEST_BROWSER_ON_POSTGRES=1 runs them here too)")


# Tests whose outcome does not depend on the suite's database would only repeat themselves on
# the PostgreSQL pass; they run in the SQLite pass alone. Those are the tests that ask for no
# database of the suite's: units, the documentation site, a test with a SQLite file of its
# own, a test on PostgreSQL whatever the suite's backend (``postgres_databases``); and those
# marked `database_independent` (every page's words in French and Dutch).
SUITE_DATABASE_FIXTURES = {"database_url", "databases"}
DATABASE_INDEPENDENT_ONCE = pytest.mark.skip(reason="database_independent: this test's outcome does not depend on "
                                                    "the suite's database, and it ran in the SQLite pass")


def _database_independent(item) -> bool:
    if item.get_closest_marker("database_independent") is not None:
        return True
    return not SUITE_DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))


def _on_postgres_besides_the_suite(item) -> bool:
    params = getattr(item, "callspec", None)
    return bool(params) and item.get_closest_marker("postgres") is not None and "postgres" in params.params.values()


class OwnProcessesTogether:
    """An xdist scheduler: each test is its own unit of work, but OWN_PROCESSES are one.

    (xdist's own ``xdist_group`` marker cannot be used: it renames the node
    ids, which pytest 9 no longer lets a plugin do.)
    """

    def pytest_xdist_make_scheduler(self, config, log):
        from xdist.scheduler import LoadScopeScheduling

        class Scheduler(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                return "own-processes" if nodeid.startswith(OWN_PROCESSES) else nodeid

        return Scheduler(config, log)


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    url = backend_url()
    if url and url.startswith("postgresql"):
        reason = postgres_unreachable_reason(url)
        if reason:
            pytest.exit(f"CONSENT_TEST_DATABASE_URL is set but {reason}", returncode=2)
        dbs = PostgresDatabases(url)
    else:
        dbs = SqliteDatabases(tmp_path_factory.mktemp("db"))
    yield dbs
    dbs.close()


@pytest.fixture(scope="session")
def postgres_databases():
    """PostgreSQL databases whatever the suite's backend; skips if none answers."""
    url = postgres_url()
    reason = postgres_unreachable_reason(url)
    if reason:
        pytest.skip(reason)
    dbs = PostgresDatabases(url)
    yield dbs
    dbs.close()


@pytest.fixture
def database_url(databases):
    url = databases.create()
    yield url
    databases.drop(url)


class IsolatedClient(FlaskClient):
    """Each request in its own app context, as in production.

    The test itself holds an app context; a request would otherwise reuse
    it, and with it ``g`` (the logged-in user, the CSRF token) of earlier
    requests. The database session is per thread and is closed by each
    request's teardown: re-read objects after a request.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


class TemplateBytecode(BytecodeCache):
    """Compiled templates kept in memory for the worker's whole run.

    Each test has an app of its own, and with it a Jinja environment that would
    parse and compile every template it renders again (a third of a typical
    test's time). Jinja checks each entry against the template's source.
    """

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_BYTECODE = TemplateBytecode()


@pytest.fixture
def app(request, database_url, tmp_path):
    settings = {"TESTING": True, "DATABASE_URL": database_url}
    marker = request.node.get_closest_marker("settings")
    if marker:
        settings.update(marker.kwargs)
    # Settings per parameter: @pytest.mark.parametrize("app", [{...}, …], indirect=True).
    settings.update(getattr(request, "param", None) or {})
    app = create_app(settings)
    app.jinja_env.bytecode_cache = TEMPLATE_BYTECODE
    app.test_client_class = IsolatedClient
    app.instance_path = str(tmp_path / "instance")
    with app.app_context():
        yield app
        database.session.remove()
    database.dispose()


@pytest.fixture
def session(app):
    return database.session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def form_post(client, page: str, data: dict, action: str | None = None, **kwargs):
    """Load ``page`` like a browser, then post ``data`` with its CSRF token."""
    token = csrf_from(client.get(page, follow_redirects=True).get_data(as_text=True))
    return client.post(action or page, data={"csrf_token": token, **data}, **kwargs)


@pytest.fixture
def make_account(session):
    def make(email: str, role: Role = Role.CUSTOMER, password: str = PASSWORD, **kw) -> Account:
        account = create_account(session, email=email, password=password, role=role,
                                 actor=Actor.system(), **kw)
        session.commit()
        return account
    return make


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str = PASSWORD, **kwargs):
        return form_post(self.client, "/login", {"email": email, "password": password}, **kwargs)

    def logout(self):
        return form_post(self.client, "/", {}, action="/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def customer(make_account):
    return make_account("camille@example.com", name="Camille Martin", locale="en")


def account_by_email(session, email: str) -> Account:
    return session.scalars(select(Account).where(Account.email == email)).one()
