"""Consent Center behind PgBouncer in transaction pooling mode.

A PgBouncer of this module's own sits in front of a database of its own on
the suite's PostgreSQL server; the app reaches the database only through it.
The app runs with ``CONSENT_DATABASE_POOLER=transaction``. PgBouncer's pool
has two server connections handed out in turn (``server_round_robin``),
so that a client's consecutive transactions land on different server
connections, as they do under load: whatever a session kept on one server
connection between transactions (a prepared statement, a ``SET``, an open
cursor) is gone on the next. Each path runs many more times than psycopg's
``prepare_threshold`` (5), so a statement prepared on the server would be
reused, and fail, on another server connection (the last test shows it does
without the setting).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from consent_center import create_app
from consent_center.accounts.api_clients import create_client
from consent_center.extensions import db
from consent_center.models import ConsentEvent, OutboxMessage
from consent_center.outbox import queue as outbox

from .api_fixtures import ApiClient
from .conftest import IsolatedClient
from .dbs import postgres_unreachable_reason, postgres_url

PGBOUNCER = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/local/sbin")
CHANGES = 24  # consent changes through the API: each statement of the write path runs far past the threshold
TEST_KIND = "pgbouncer-test"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(PGBOUNCER is None, reason="the pgbouncer binary is not installed (Debian: apt-get install "
                                                  "pgbouncer): these tests start a PgBouncer of their own"),
]


@pytest.fixture(scope="module")
def direct_url():
    """A fresh, empty database on the suite's PostgreSQL server, reached directly (dropped afterwards)."""
    server = postgres_url()
    reason = postgres_unreachable_reason(server)
    if reason:
        pytest.skip(reason)
    name = f"cc_pgbouncer_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def bouncer_url(direct_url):
    """The same database through a PgBouncer in transaction mode started for this module."""
    work = Path(tempfile.mkdtemp(prefix="cc_pgbouncer_"))
    work.chmod(0o755)  # readable by the user pgbouncer switches to when started as root
    port = _free_port()
    user = direct_url.username or "postgres"
    (work / "users.txt").write_text(f'"{user}" ""\n')
    server = f"host={direct_url.host or '127.0.0.1'} port={direct_url.port or 5432} dbname={direct_url.database}"
    (work / "pgbouncer.ini").write_text(f"""\
[databases]
{direct_url.database} = {server}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {work / 'users.txt'}
pool_mode = transaction
default_pool_size = 2
server_round_robin = 1
max_client_conn = 100
{_no_prepared_statements()}""")
    command = [PGBOUNCER, str(work / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "postgres"]  # PgBouncer refuses to run as root
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = direct_url.set(host="127.0.0.1", port=port)
    try:
        _wait_for(process, url)
        yield url.render_as_string(hide_password=False)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
        shutil.rmtree(work, ignore_errors=True)


def _no_prepared_statements() -> str:
    """PgBouncer 1.21 and later can keep prepared statements across server connections: not here."""
    version = subprocess.run([PGBOUNCER, "--version"], check=True, capture_output=True, text=True).stdout.split()[1]
    return "max_prepared_statements = 0\n" if tuple(map(int, version.split(".")[:2])) >= (1, 21) else ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(process: subprocess.Popen, url) -> None:
    deadline = time.monotonic() + 15
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"pgbouncer exited ({process.returncode}): {process.stdout.read().decode()}")
        try:
            with psycopg.connect(host=url.host, port=url.port, user=url.username, dbname=url.database,
                                 connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _app(url: str, instance: Path, pooler: str = "transaction"):
    app = create_app({"TESTING": True, "DATABASE_URL": url, "DATABASE_POOLER": pooler})
    app.test_client_class = IsolatedClient
    app.instance_path = str(instance)
    return app


@pytest.fixture(scope="module")
def migrated(bouncer_url, tmp_path_factory):
    """The schema made by ``flask db upgrade`` through PgBouncer; the instance folder the apps share (keys)."""
    instance = tmp_path_factory.mktemp("instance")
    app = _app(bouncer_url, instance)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["db", "upgrade"])
        db.session.remove()
    db.dispose()
    assert result.exit_code == 0, result.output
    return instance


@pytest.fixture
def app(bouncer_url, migrated):
    app = _app(bouncer_url, migrated)
    with app.app_context():
        yield app
        db.session.remove()
    db.dispose()


@pytest.fixture
def api(app):
    issued = create_client(db.session, "PgBouncer tool", ["consent:read", "consent:write", "audit:read",
                                                          "subjects:write"])
    db.session.commit()
    return ApiClient(app.test_client(), issued.key)


def _subjects(api, count: int, prefix: str) -> list[tuple[str, str]]:
    made = []
    for n in range(count):
        email = f"{prefix}-{n}@example.com"
        answer = api.post("/subjects", {"email": email})
        assert answer.status_code == 201, answer.get_data(as_text=True)
        made.append((answer.get_json()["id"], email))
    return made


def test_consent_changes_and_checks_agree_through_pgbouncer(api):
    assert _changes_and_checks(api) == 2 * CHANGES  # every change, checked through both doors


def _changes_and_checks(api) -> int:
    """Record CHANGES changes, each checked by subject id and by e-mail; return the checks that agreed."""
    agreed = 0
    people = _subjects(api, 6, f"change-{uuid.uuid4().hex[:6]}")
    for n in range(CHANGES):
        public_id, email = people[n % len(people)]
        status = "granted" if n // len(people) % 2 == 0 else "withdrawn"  # each change a change
        written = api.post(f"/subjects/{public_id}/consents",
                           {"channel": "newsletter", "status": status, "source": "api",
                            "evidence": {"reference": f"pgbouncer {n}"}})
        assert written.status_code == 201, written.get_data(as_text=True)
        for query in (f"subject={public_id}", f"email={email}"):
            answer = api.get(f"/check?channel=newsletter&{query}")
            assert answer.status_code == 200, answer.get_data(as_text=True)
            assert answer.get_json()["status"] == status
            assert answer.get_json()["allowed"] is (status == "granted")
            agreed += 1
        current = api.get(f"/subjects/{public_id}/consents")
        assert current.status_code == 200, current.get_data(as_text=True)
    return agreed


def test_the_bulk_check_answers_in_input_order_through_pgbouncer(api):
    people = _subjects(api, 4, "bulk")
    granted = {email for n, (_, email) in enumerate(people) if n % 2 == 0}
    for public_id, email in people:
        if email in granted:
            written = api.post(f"/subjects/{public_id}/consents",
                               {"channel": "sms", "status": "granted", "source": "api",
                                "evidence": {"reference": "pgbouncer bulk"}})
            assert written.status_code == 201, written.get_data(as_text=True)
    asked = [email for _, email in people] + ["nobody@example.com"]
    for _ in range(12):
        answer = api.post("/check", {"channel": "sms", "emails": asked})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert [r["allowed"] for r in answer.get_json()["results"]] == [e in granted for e in asked]
        by_subject = api.post("/check", {"channel": "sms", "subjects": [p for p, _ in people]})
        assert by_subject.status_code == 200, by_subject.get_data(as_text=True)


def test_the_export_through_pgbouncer_is_the_export_from_the_server(bouncer_url, direct_url, migrated):
    exports = {}
    for url, pooler in ((bouncer_url, "transaction"), (direct_url.render_as_string(hide_password=False), "none")):
        app = _app(url, migrated, pooler)
        with app.app_context():
            issued = create_client(db.session, f"Auditor ({pooler})", ["audit:read", "consent:write",
                                                                        "subjects:write"])
            db.session.commit()
            api = ApiClient(app.test_client(), issued.key)
            if pooler == "transaction":
                _some_history(api)
            for _ in range(6 if pooler == "transaction" else 1):
                for format in ("csv", "jsonl", "jsonld"):  # COPY for the first two, a server-side cursor for JSON-LD
                    answer = api.get(f"/export/events?format={format}")
                    assert answer.status_code == 200, answer.get_data(as_text=True)
                    exports[pooler, format] = answer.get_data()
            events = db.session.scalar(select(func.count()).select_from(ConsentEvent))
            db.session.remove()
        db.dispose()
    for format in ("csv", "jsonl", "jsonld"):
        assert exports["transaction", format] == exports["none", format]
    assert exports["transaction", "csv"].count(b"\r\n") == events + 1  # the header
    assert exports["transaction", "jsonl"].count(b"\n") == events


def test_the_change_feed_pages_through_every_event_once(api, app):
    _some_history(api)
    seen, after = [], None
    for _ in range(200):
        page = api.get("/events", query_string={"limit": 3, **({"after": after} if after else {})})
        assert page.status_code == 200, page.get_data(as_text=True)
        body = page.get_json()
        seen += [event["id"] for event in body["events"]]
        if not body["events"]:
            break
        after = body["next"]
    written = db.session.scalars(select(ConsentEvent.public_id)).all()
    assert len(seen) == len(set(seen)) and set(seen) == set(written)
    assert len(seen) > 3 * 5  # more pages than the prepare threshold


def test_ledger_verify_and_checkpoint_through_pgbouncer(api, app):
    _some_history(api)
    runner = app.test_cli_runner()
    signed = runner.invoke(args=["ledger", "checkpoint", "--force"])
    assert signed.exit_code == 0, signed.output
    assert "checkpoint signed" in signed.output or "no checkpoint due" in signed.output
    for _ in range(3):
        verified = runner.invoke(args=["ledger", "verify"])
        assert verified.exit_code == 0, verified.output


@pytest.fixture
def delivered():
    """What a deliverer of the test's own kind delivered (the payloads' numbers)."""
    numbers = []
    outbox.register_deliverer(TEST_KIND, lambda message: numbers.append(message.payload["n"]))
    yield numbers
    outbox.unregister_deliverer(TEST_KIND)


def test_outbox_workers_skip_each_others_rows_through_pgbouncer(app, delivered):
    for n in range(10):
        outbox.enqueue(db.session, kind=TEST_KIND, topic="consent.changed", recipient="endpoint", payload={"n": n})
    db.session.commit()
    ours = OutboxMessage.kind == TEST_KIND
    with Session(db.engine) as other_worker:  # holds its rows' locks in an open transaction
        held = other_worker.scalars(select(OutboxMessage.id).where(ours).order_by(OutboxMessage.id).limit(4)
                                    .with_for_update(skip_locked=True)).all()
        assert len(held) == 4
        claimed = outbox.claim(db.session, limit=20, kinds=[TEST_KIND])
        assert len(claimed) == 6 and not {c.id for c in claimed} & set(held)
        other_worker.rollback()
    for _ in range(3):
        result = app.test_cli_runner().invoke(args=["outbox", "deliver", "--once", "--kind", TEST_KIND])
        assert result.exit_code == 0, result.output
    # The six leased above wait for their lease to run out; the four the other worker let go are delivered.
    assert sorted(delivered) == [0, 1, 2, 3]


def test_without_the_setting_a_prepared_statement_fails_on_another_server_connection(bouncer_url, migrated):
    """The first test's run without CONSENT_DATABASE_POOLER: this module's PgBouncer does break it."""
    app = _app(bouncer_url, migrated, pooler="none")
    with app.app_context():
        issued = create_client(db.session, "Unprepared tool", ["consent:read", "consent:write", "subjects:write"])
        db.session.commit()
        with pytest.raises(DBAPIError, match="prepared statement"):
            _changes_and_checks(ApiClient(app.test_client(), issued.key))
        db.session.remove()
    db.dispose()


def _some_history(api) -> None:
    for public_id, _ in _subjects(api, 3, f"history-{uuid.uuid4().hex[:6]}"):
        for status in ("granted", "withdrawn", "granted"):
            written = api.post(f"/subjects/{public_id}/consents",
                               {"channel": "email", "status": status, "source": "api",
                                "evidence": {"reference": "pgbouncer history"}})
            assert written.status_code == 201, written.get_data(as_text=True)
