"""The hot paths stay lean: the shortcuts they take give the answers of the long way.

Speed itself is measured by bench/run.sh, not here; these tests hold the
shortcuts to the same results as the general code, and the write path to
its number of statements, so that a change that adds a query per consent
change shows up as a failing test rather than as a slower benchmark.
"""
import gc
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError
from sqlalchemy import event, select
from werkzeug.datastructures import MultiDict

from consent_center.api.check_schemas import check_query
from consent_center.api.schemas import MAX_EMAIL
from bench.seed import email_of, expected_granted, seed
from consent_center.check.service import collector_paused
from consent_center.extensions import db
from consent_center.ledger import Actor, record_change
from consent_center.models import OutboxMessage, Source
from consent_center.subjects.channel_suppression import suppress_on_channel
from consent_center.subjects.service import create_subject
from consent_center.outbox.webhooks import add_endpoint

ROOT = Path(__file__).resolve().parents[1]

texts = st.one_of(
    st.text(max_size=12),
    st.text(alphabet="ab\x00é@.", min_size=0, max_size=5),
    st.integers(min_value=0, max_value=3).map(lambda n: "x" * (MAX_EMAIL - 1 + n)),
    st.integers(min_value=0, max_value=3).map(lambda n: "c" * (39 + n)),
    st.just("2026-01-01T00:00:00Z"),
)
queries = st.dictionaries(st.sampled_from(["channel", "email", "subject", "phone", "region", "at", "utm"]), texts,
                          max_size=5)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(queries)
def test_quick_query_loading_agrees_with_marshmallow(args):
    quick = check_query.quick_load(MultiDict(args))
    try:
        loaded = check_query.load(args)
    except ValidationError:
        assert quick is None
        return
    assert quick is None or quick == loaded


def test_api_requests_skip_the_rate_limiter_but_pages_do_not(api, client, monkeypatch):
    # The API limits per key (api/auth.py). Flask-Limiter's public request_filter
    # keeps it from resolving any limit for the API; the pages are still limited.
    # Fails if an upgrade of Flask-Limiter stops consulting the filter first.
    from consent_center.extensions import limiter

    resolved = []
    resolve = limiter.limit_manager.resolve_limits

    def spy(app, endpoint, *args, **kwargs):
        resolved.append(endpoint)
        return resolve(app, endpoint, *args, **kwargs)

    monkeypatch.setattr(limiter.limit_manager, "resolve_limits", spy)
    answer = api.get("/check?channel=email&email=lea@example.com")
    assert answer.status_code == 200
    assert resolved == []
    assert not any(name.startswith("X-RateLimit") for name in answer.headers.keys())
    assert client.get("/login").status_code == 200
    assert resolved and set(resolved) == {"auth.login"}


@pytest.fixture
def statements(app):
    """Count the SQL statements sent to the database, through either engine (quick reads
    have their own on PostgreSQL)."""
    sent = []
    with app.app_context():
        engines = {db.engine, db.read_engine}

    def count(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement.split(None, 1)[0].upper())

    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    yield sent
    for engine in engines:
        event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize("webhooks", [0, 2])
def test_a_consent_change_through_the_api_takes_few_statements(api, make_subject, session, statements, webhooks):
    subject = make_subject("lea@example.com")
    for n in range(webhooks):
        add_endpoint(session, f"https://crm{n}.example.com/hook")
    session.commit()
    api.get("/check?channel=email&email=lea@example.com")  # the key is looked up and cached
    statements.clear()
    response = api.post(f"/subjects/{subject.public_id}/consents",
                        json={"channel": "newsletter", "status": "granted", "source": "api"})
    assert response.status_code == 201
    # PostgreSQL: the subject, locked in the same query; channels, states with
    # the chain head, policy with its text hashes; then receipt, event and
    # state in one statement; and one message per active webhook, the
    # webhooks found by the INSERT itself. SQLite: the same reads, the
    # webhooks read on their own, and three writes.
    if session.get_bind().dialect.name == "postgresql":
        assert statements == ["SELECT", "SELECT", "WITH", "INSERT"], statements
    else:
        writes = ["BEGIN", "INSERT", "INSERT", "UPDATE"] + (["INSERT"] if webhooks else [])
        assert [s for s in statements if s != "SELECT"] == writes, statements
        assert statements.count("SELECT") == 3, statements
    messages = session.execute(select(OutboxMessage.recipient, OutboxMessage.public_id, OutboxMessage.payload)
                               .where(OutboxMessage.topic == "consent.changed")).all()
    assert len({m.recipient for m in messages}) == webhooks
    assert len({m.public_id for m in messages}) == webhooks  # the webhook-id: one of its own per message
    assert all(uuid.UUID(m.public_id).version == 4 and str(uuid.UUID(m.public_id)) == m.public_id for m in messages)
    assert all(m.payload["data"]["subject"] == subject.public_id for m in messages)


@pytest.mark.parametrize("by", ["emails", "phones"])
@pytest.mark.parametrize("answer", ["full", "allowed"])
def test_a_bulk_check_is_one_query_whatever_its_size(api, session, statements, answer, by):
    # Keys bound one by one cost SQLAlchemy more than the query itself on SQLite,
    # and chunks of them a query each: the keys go as one parameter on both engines.
    # By phone, the numbers on the suppression list come in the same query; so, by phone
    # or by e-mail, do the lists of the channel's medium that name a contact asked (one
    # granted subject here, on the SMS STOPs or the spam complaints: listed, not allowed).
    # (Fewer numbers: unknown ones are then checked for validity, one by one.)
    channel, asked = ("email", [f"user{i}@example.com" for i in range(25_000)]) if by == "emails" else (
        "sms", [f"+3361{i:07d}" for i in range(5_000)] + ["06 12 34 56 78"])
    listed = create_subject(session, actor=Actor.system(), email="user1@example.com", phone="+33610000001")
    record_change(session, listed, {channel: "granted"}, source=Source.API, actor=Actor.system())
    suppress_on_channel(session, asked[1], channel, source="complaint" if channel == "email" else "sms_keyword")
    session.commit()
    api.get("/check?channel=sms&phone=%2B33612345678")  # the key and the channels are looked up and cached
    statements.clear()
    response = api.post("/check", json={"channel": channel, by: asked, "answer": answer})
    assert response.status_code == 200
    assert statements.count("SELECT") == 1, statements
    found = response.get_json()
    assert (found["allowed"][1] is False) if answer == "allowed" else (
        (found["results"][1]["status"], found["results"][1]["list"]) == (
            "listed", "Spam complaints" if channel == "email" else "SMS STOP"))
    statements.clear()
    assert api.get("/check?channel=sms&phone=06+12+34+56+78").status_code == 200
    assert statements == ["SELECT"], statements  # one number: its subjects and the list, in one query


def test_the_production_entry_point_freezes_what_its_import_built(tmp_path):
    """gunicorn's ``wsgi:app`` leaves the app's import-time objects out of every collection."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("CONSENT_")}
    env.update(CONSENT_SECRET_KEY="entry-point-test-secret-key-of-32-characters", CONSENT_DATABASE_URL=f"sqlite:///{tmp_path}/db",
               CONSENT_RECEIPT_KEY_DIR=str(tmp_path / "keys"))
    probe = "import gc, wsgi; print(gc.get_freeze_count(), len(gc.get_objects()))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    frozen, still_tracked = int(out[0]), int(out[1])
    assert frozen > 50_000  # the app, its routes, SQLAlchemy's and Flask's modules
    assert still_tracked < frozen // 10


CONTACTS = 2000  # one seeded base for both tests below (seeding is most of their time)


@pytest.fixture
def seeded_emails(session, api):
    seed(session, CONTACTS, 2 * CONTACTS)
    session.commit()
    emails = [email_of(i) for i in range(1, CONTACTS + 1)]
    api.get(f"/check?channel=email&email={emails[0]}")  # the key and the channels are cached
    return emails


def test_a_bulk_check_pauses_the_collector_and_leaves_no_garbage_growing_with_its_size(
        seeded_emails, api):
    # Its rows hold no cycle: collecting would only walk them (some 280 times for 100,000 contacts).
    for answer in ("full", "allowed"):
        collections = []
        gc.callbacks.append(on_collection := lambda phase, info: phase == "start" and collections.append(info))
        try:
            gc.collect()
            collections.clear()
            response = api.post("/check", json={"channel": "email", "emails": seeded_emails, "answer": answer})
        finally:
            gc.callbacks.remove(on_collection)
        assert response.status_code == 200 and gc.isenabled()
        allowed = response.get_json()["allowed"] if answer == "allowed" else [
            r["allowed"] for r in response.get_json()["results"]]
        assert allowed == [expected_granted(i, "email") for i in range(1, CONTACTS + 1)]
        assert len(collections) <= 1, collections  # one, at most, as the body is read; 6 unpaused
    leaves_no_garbage_that_grows_with_its_size(seeded_emails, api)


def test_the_collector_pause_leaves_the_collector_as_it_found_it():
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        with collector_paused():
            assert not gc.isenabled()
            raise RuntimeError
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_failing_bulk_check_leaves_the_collector_on(api):
    # The pause covers the bulk call only, and ends with it however it ends.
    response = api.post("/check", json={"channel": "no-such-channel", "emails": ["a@example.com"]})
    assert response.status_code == 422
    assert gc.isenabled()


def leaves_no_garbage_that_grows_with_its_size(emails, api):
    # What the pause rests on: the rows, answers and JSON of a bulk check hold no
    # reference cycle, so reference counting frees them all while the collector
    # is off. Fails if an upgrade of SQLAlchemy, the driver or Flask makes a
    # cycle per row (the pause would then hold them until the collector ran).
    cycles = {}
    for answer in ("full", "allowed"):
        for size in (10, CONTACTS):
            gc.collect()
            gc.disable()
            try:
                assert api.post("/check", json={"channel": "email", "emails": emails[:size],
                                                "answer": answer}).status_code == 200
                cycles[answer, size] = gc.collect()
            finally:
                gc.enable()
    for answer in ("full", "allowed"):
        assert cycles[answer, CONTACTS] <= cycles[answer, 10] + 20, cycles  # the request's own, not the rows'
