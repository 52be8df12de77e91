"""Checks, the feed and the export from a real hot standby: never a wrong "allowed", whatever its lag.

A primary and a streaming standby of it are started for this module
(bench/replica_cluster.py). Each test withdraws on the primary and asks through
the replica path: with the change's consistency token, with replay paused,
with the standby stopped.
"""
from __future__ import annotations

import pytest

from consent_center import create_app
from consent_center.accounts.api_clients import create_client
from consent_center.extensions import db as database
from consent_center.ledger import Actor, record_change
from consent_center.migrate import upgrade
from consent_center.db.replicas import BadToken, format_token, parse_token
from consent_center.subjects.service import create_subject

from bench.replica_cluster import Cluster, server_binaries

pytestmark = pytest.mark.skipif(server_binaries() is None,
                                reason="the PostgreSQL server binaries (initdb, pg_basebackup, pg_ctl) are not "
                                       "installed: the replica tests start their own primary and standby")


@pytest.fixture(scope="module")
def cluster():
    cluster = Cluster()
    try:
        cluster.start()
        from sqlalchemy import create_engine
        engine = create_engine(cluster.primary.url())
        upgrade(engine)
        engine.dispose()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def app(cluster, tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": cluster.primary.url(),
                      "READ_DATABASE_URLS": [cluster.standby.url()], "READ_MAX_LAG_MS": 500})
    app.instance_path = str(tmp_path / "instance")
    with app.app_context():
        yield app
        database.session.remove()
    database.dispose()


@pytest.fixture
def api(app):
    issued = create_client(database.session, "Replica tool", ["consent:read", "consent:write", "audit:read"])
    database.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {issued.key}"}

    class Api:
        def get(self, path, **kw):
            return client.get("/api/v1" + path, headers=headers, **kw)

        def post(self, path, json):
            return client.post("/api/v1" + path, json=json, headers=headers)

        def head(self, path):
            return client.head("/api/v1" + path, headers=headers, buffered=True)  # closed, as a server does
    return Api()


def a_subscriber(cluster, email):
    subject = create_subject(database.session, actor=Actor.system(), email=email)
    record_change(database.session, subject, {"newsletter": "granted"}, source="api", actor=Actor.system())
    database.session.commit()
    Cluster.wait_for(cluster.caught_up)
    return subject


def withdraw(api, subject) -> str:
    answer = api.post(f"/subjects/{subject.public_id}/consents",
                      {"channel": "newsletter", "status": "withdrawn", "source": "api", "evidence": {"reference": "replica test"}})
    assert answer.status_code == 201, answer.get_json()
    return answer.headers["Consent-Consistency-Token"]


def check(api, email, **params):
    query = "&".join(f"{k}={v}" for k, v in {"channel": "newsletter", "email": email, **params}.items())
    return api.get(f"/check?{query}")


def paused(cluster):
    class Paused:
        def __enter__(self):
            with cluster.standby.connect() as standby:
                standby.execute("SELECT pg_wal_replay_pause()")
                Cluster.wait_for(lambda: standby.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0]
                                 == "paused")

        def __exit__(self, *exc):
            with cluster.standby.connect() as standby:
                standby.execute("SELECT pg_wal_replay_resume()")
    return Paused()


def test_a_fresh_replica_answers_and_says_so(cluster, api):
    a_subscriber(cluster, "fresh@example.com")
    answer = check(api, "fresh@example.com")
    assert answer.get_json()["allowed"] is True
    assert answer.headers["Consent-Read-From"] == "replica-1"


def test_with_the_token_of_a_withdrawal_a_paused_replica_never_answers_allowed(cluster, api):
    subject = a_subscriber(cluster, "paused@example.com")
    with paused(cluster):
        token = withdraw(api, subject)
        answer = check(api, "paused@example.com", after=token)
        assert answer.get_json()["allowed"] is False
        assert answer.headers["Consent-Read-From"].startswith("primary; reason=")  # behind the token, or lagging
        bulk = api.post("/check", {"channel": "newsletter", "emails": ["paused@example.com"], "after": token})
        assert bulk.get_json()["results"][0]["allowed"] is False
    Cluster.wait_for(cluster.caught_up)
    # Once replay resumes, the next probe (at most every quarter of the bound) finds it fresh again.
    Cluster.wait_for(lambda: check(api, "paused@example.com", after=token).headers["Consent-Read-From"]
                     == "replica-1")
    assert check(api, "paused@example.com", after=token).get_json()["allowed"] is False


def test_without_a_token_a_replica_lagging_past_the_bound_is_not_used(cluster, api, app):
    subject = a_subscriber(cluster, "lagging@example.com")
    with paused(cluster):
        withdraw(api, subject)
        # Every position the replica is known to have passed is older than the withdrawal, which took longer.
        database.replicas.max_lag = 0.001
        answer = check(api, "lagging@example.com")
        assert answer.headers["Consent-Read-From"] == "primary; reason=lagging"
        assert answer.get_json()["allowed"] is False
        assert database.replicas.fallbacks["lagging"] >= 1


def test_an_older_token_does_not_make_a_lagging_replica_acceptable(cluster, api):
    first = a_subscriber(cluster, "first@example.com")
    second = a_subscriber(cluster, "second@example.com")
    old_token = withdraw(api, first)
    Cluster.wait_for(cluster.caught_up)
    with paused(cluster):
        withdraw(api, second)
        database.replicas.max_lag = 0.001
        answer = check(api, "second@example.com", after=old_token)
        assert answer.get_json()["allowed"] is False
        assert answer.headers["Consent-Read-From"].startswith("primary")


def test_a_replica_behind_the_token_on_the_serving_connection_is_not_used(cluster, api):
    subject = a_subscriber(cluster, "cached@example.com")
    with paused(cluster):
        token = withdraw(api, subject)
        # As if the replica had been seen past the token before a restart set it back.
        from consent_center.db.replicas import parse_token
        database.replicas.replicas[0].replayed = parse_token(token) + 1
        answer = check(api, "cached@example.com", after=token)
        assert answer.get_json()["allowed"] is False
        assert answer.headers["Consent-Read-From"] == "primary; reason=behind-token"


def test_a_stopped_replica_is_skipped_and_the_primary_answers(cluster, api):
    subject = a_subscriber(cluster, "stopped@example.com")
    cluster.pg_ctl(cluster.standby, "stop")
    try:
        token = withdraw(api, subject)
        for params in ({}, {"after": token}):
            answer = check(api, "stopped@example.com", **params)
            assert answer.status_code == 200 and answer.get_json()["allowed"] is False
            assert answer.headers["Consent-Read-From"] == "primary; reason=unreachable"
    finally:
        cluster.pg_ctl(cluster.standby, "start")
        Cluster.wait_for(lambda: cluster.standby.connect().close() is None)


def test_the_export_reads_from_the_replica_and_the_feed_from_the_primary(cluster, api):
    a_subscriber(cluster, "feed@example.com")
    export = api.get("/export/events?format=jsonl", buffered=True)
    assert export.status_code == 200 and export.headers["Consent-Read-From"] == "replica-1"
    assert b"newsletter" in export.data
    # On a standby the snapshot hides the primary's running transactions from the feed's horizon.
    feed = api.get("/events?limit=1000")
    assert feed.status_code == 200 and "Consent-Read-From" not in feed.headers
    assert any(e["email"] == "feed@example.com" for e in feed.get_json()["events"])


def test_web_forms_carry_no_consistency_token(cluster, app):
    client = app.test_client()
    answer = client.post("/manage", data={"email": "nobody@example.com"})
    assert "Consent-Consistency-Token" not in answer.headers


def test_a_bad_token_is_a_clear_422(cluster, api):
    answer = check(api, "x@example.com", after="not-a-position")
    assert answer.status_code == 422
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert "WAL position" in answer.get_json()["errors"][0]["detail"]


def test_tokens_are_wal_positions():
    assert parse_token("16/B374D848") == (0x16 << 32) | 0xB374D848
    assert format_token(parse_token("0/3000060")) == "0/3000060"
    for bad in ("", "16", "16/", "G/1", "1/123456789"):
        with pytest.raises(BadToken):
            parse_token(bad)


def test_a_replica_past_the_bound_is_said_once_in_the_log(cluster, api, caplog):
    subject = a_subscriber(cluster, "logged@example.com")
    with paused(cluster):
        withdraw(api, subject)
        database.replicas.max_lag = 0.001
        with caplog.at_level("INFO", logger="consent_center.db.replicas"):
            for _ in range(3):
                check(api, "logged@example.com")
    said = [r.getMessage() for r in caplog.records if "past the lag bound" in r.getMessage()]
    assert len(said) == 1 and "replica-1" in said[0]


def test_a_busy_process_probes_at_most_every_quarter_of_the_bound(cluster, api):
    a_subscriber(cluster, "busy@example.com")
    replica = database.replicas.replicas[0]
    database.replicas.max_lag = 60.0  # a bound long enough that this test never reaches it again
    for _ in range(20):
        assert check(api, "busy@example.com").headers["Consent-Read-From"] == "replica-1"
    probed = replica.probed_at
    for _ in range(20):
        check(api, "busy@example.com")
    assert replica.probed_at == probed  # twenty reads, not one more probe


def test_a_head_on_the_export_leaves_no_replica_connection_open(cluster, api):
    a_subscriber(cluster, "head@example.com")
    pool = database.replicas.replicas[0].engine.pool
    for _ in range(3):
        assert api.head("/export/events?format=jsonl").status_code == 200
    assert pool.checkedout() == 0
