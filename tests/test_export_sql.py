"""The export formatted by the database gives the very bytes of the Python writers.

CSV and JSON Lines of events stored as canonical JSON are formatted by the
database (export/sql.py: SQL on PostgreSQL, printf() on SQLite); events
stored before that go through Python. Hypothesis writes awkward events
(quotes, commas, line breaks, any Unicode in channel codes, actor ids,
policy labels and nested evidence; receipts in a language the policy has
no text in) and both ways must agree byte for byte, on whichever database
the suite runs.
"""
from __future__ import annotations

import json
import threading
from itertools import count

import psycopg
import pytest
from flask import current_app
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Text, cast, func, select, text, update

from consent_center.export import sql as export_sql
from consent_center.export.events import stream_events
from consent_center.export.filters import ExportFilters
from consent_center.ledger import Actor, record_change
from consent_center.models import CanonicalJsonSince, Channel, ConsentEvent, Source
from consent_center.models.vocabulary import ActorType, Status
from consent_center.policies.service import publish_policy
from consent_center.subjects.service import create_subject

from .test_export import seed_events

LOCALES = ("fr", "nl", "en")
# Free text as people type it; PostgreSQL text holds anything but NUL (our forms refuse it too).
typed = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
json_text = st.text(st.characters(codec="utf-8"), max_size=8)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**60, 2**60) | st.floats(allow_nan=False, allow_infinity=False)
    | json_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(json_text, inner, max_size=3),
    max_leaves=8,
)
json_objects = st.none() | st.dictionaries(json_text, json_values, max_size=4)
awkward_event = st.fixed_dictionaries({
    "code": typed.filter(lambda code: code.strip() != ""),
    # None: no policy published in this example; a label never starts a spreadsheet formula (policies.service).
    "label": st.one_of(st.none(), typed.filter(lambda label: not label.startswith(("=", "+", "-", "@")))),
    "texts": st.lists(st.sampled_from(LOCALES), min_size=1, max_size=3, unique=True),
    "locale": st.sampled_from(LOCALES),
    "actor_id": st.one_of(st.none(), typed),
    "evidence": json_objects,
    "trace": json_objects,
    "status": st.sampled_from([str(status) for status in Status]),
    "renew": st.booleans(),  # confirmed again under the same status: a renewed event (DPV's own term)
})
numbers = count()


def exported(session, format: str, **filters) -> str:
    return b"".join(stream_events(session, format, ExportFilters.parse(filters))).decode("utf-8")


def everything(stmt):
    return stmt


def by_python(session, format: str, **filters) -> str:
    """The export as the Python writers make it: as if every event were stored before canonical JSON."""
    first = session.scalar(select(CanonicalJsonSince.first_event_id))
    session.execute(update(CanonicalJsonSince).values(first_event_id=2**62))
    try:
        assert not export_sql.formatted_by_database(session, everything)
        return exported(session, format, **filters)
    finally:
        session.execute(update(CanonicalJsonSince).values(first_event_id=first))


@settings(max_examples=30, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=awkward_event)
# Each character csv.writer quotes for, alone in a free-text column, and control characters for JSON.
@example(case={"code": "a\rb", "label": "l\r", "texts": ["en"], "locale": "nl", "actor_id": "x\ry",
               "evidence": {"k": "v\r"}, "trace": None, "status": "granted", "renew": True})
@example(case={"code": 'a"b', "label": '"', "texts": ["fr", "nl"], "locale": "en", "actor_id": 'q"',
               "evidence": None, "trace": {"\u2028": "\x1f\x7f"}, "status": "withdrawn", "renew": False})
@example(case={"code": "\n", "label": ",", "texts": ["nl"], "locale": "fr", "actor_id": "",
               "evidence": {"a": [1.5, None, True]}, "trace": {"z": "\\"}, "status": "restricted", "renew": False})
def test_the_database_gives_the_bytes_of_the_python_writers(session, case):
    n = next(numbers)
    code = f"{case['code']}{n}"  # unique
    session.add(Channel(code=code, names={"en": "x"}, position=10 + n))
    if case["label"] is not None:
        publish_policy(session, f"{case['label']}#{n}", {locale: f"text {locale} {n}" for locale in case["texts"]})
    subject = create_subject(session, actor=Actor.system(), email=f"p{n}@example.com", locale=case["locale"])
    record_change(session, subject, {code: case["status"]}, source=Source.STAFF,
                  actor=Actor(ActorType.ACCOUNT, case["actor_id"]), evidence=case["evidence"], trace=case["trace"])
    record_change(session, subject, {code: case["status"]}, source=Source.API, actor=Actor.system(),
                  renew=case["renew"])
    session.flush()
    assert export_sql.formatted_by_database(session, everything)
    for format in ("csv", "jsonl"):
        for filters in ({}, {"subject": subject.public_id}):
            assert exported(session, format, **filters) == by_python(session, format, **filters)


@pytest.mark.parametrize("format", ["csv", "jsonl"])
def test_a_download_given_up_midway_is_cancelled_and_the_session_recovers(session, format):
    """Megabytes still to come when the client goes away: the query is cancelled (SQLite's cursor
    closed), a rollback ends it, and the session goes on."""
    seed_events(session, 20_000)  # ~9 MB of CSV, ~15 of JSON Lines: far more than the socket holds
    session.commit()
    chunks = stream_events(session, format, ExportFilters())
    first = next(chunks) + next(chunks)  # CSV: the header, then 5,000 lines; JSON Lines: 10,000 lines
    assert first.count(b"\n") == {"csv": 5_001, "jsonl": 10_000}[format]
    chunks.close()  # the client went away
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 20_000


def test_json_columns_are_stored_as_canonical_json(session):
    subject = create_subject(session, actor=Actor.system(), email="a@example.com")
    evidence = {"z": [1, 2.5, None], "a": {"é": "\"x\"\n"}}
    recorded = record_change(session, subject, {"email": "granted"}, source=Source.STAFF, actor=Actor.system(),
                             evidence=evidence)
    stored = session.scalar(select(cast(ConsentEvent.evidence, Text)).where(
        ConsentEvent.id == recorded.events[0].id))
    assert stored == '{"a":{"é":"\\"x\\"\\n"},"z":[1,2.5,null]}'


def test_events_stored_before_canonical_json_are_made_canonical_by_python(session):
    """An event written before migration 0011 kept json.dumps' spacing and key order."""
    subject = create_subject(session, actor=Actor.system(), email="a@example.com")
    model = record_change(session, subject, {"email": "granted"}, source=Source.STAFF, actor=Actor.system(),
                          evidence={"a": 1}).events[0]
    copied = [c.key for c in ConsentEvent.__table__.columns
              if c.key not in ("id", "txid", "public_id", "seq", "evidence")]
    # A copy of the event with the text the engine used to store (the JSON type bypassed).
    session.execute(text(
        f"INSERT INTO consent_events (public_id, seq, evidence, {', '.join(copied)}) "
        f"SELECT :public_id, seq + 100, :evidence, {', '.join(copied)} FROM consent_events WHERE id = :id"
    ), {"public_id": "00000000-0000-4000-8000-000000000001", "evidence": '{"b": 2, "a": 1}', "id": model.id})
    last = session.scalar(select(ConsentEvent.id).order_by(ConsentEvent.id.desc()).limit(1))
    session.execute(update(CanonicalJsonSince).values(first_event_id=last))
    assert not export_sql.formatted_by_database(session, everything)
    assert exported(session, "csv").splitlines()[-1].endswith(',"{""a"":1,""b"":2}",')
    line = exported(session, "jsonl").splitlines()[-1]
    assert '"evidence":{"a":1,"b":2}' in line
    assert json.loads(line)["evidence"] == {"a": 1, "b": 2}


def test_a_new_database_stores_every_event_canonically(session):
    assert session.scalar(select(CanonicalJsonSince.first_event_id)) == 1


def test_copy_in_another_client_encoding_still_gives_utf8(session):
    """COPY (CSV) writes in the connection's encoding: in UTF-8 the bytes pass as they are, in another
    encoding they are recoded; JSON lines come as UTF-8 bytes. The export is UTF-8 whatever the connection says."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: the client encoding is the connection's; SQLite's text is always UTF-8")
    publish_policy(session, "\u00e9t\u00e9 2026", {"fr": "Politique"})
    subject = create_subject(session, actor=Actor.system(), email="zoe@example.com", locale="fr")
    record_change(session, subject, {"newsletter": "granted"}, source=Source.API,
                  actor=Actor(ActorType.ACCOUNT, "Zo\u00e9"))
    session.flush()
    in_utf8 = {format: exported(session, format) for format in ("csv", "jsonl")}
    assert "\u00e9t\u00e9 2026" in in_utf8["csv"] and "Zo\u00e9" in in_utf8["jsonl"]
    session.execute(text("SET LOCAL client_encoding = 'LATIN1'"))
    assert session.connection().connection.driver_connection.info.encoding != "utf-8"
    for format in ("csv", "jsonl"):
        assert exported(session, format) == in_utf8[format]


def test_the_export_query_is_not_jit_compiled_and_only_for_its_transaction(session):
    """Compiling the query's expressions in each parallel process cost a tenth of a JSON Lines export
    (export/sql.py); the setting ends with the export's transaction."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite compiles no query")
    seed_events(session, 10)
    session.commit()
    before = session.scalar(text("SHOW jit"))
    for format in ("csv", "jsonl"):
        assert len(exported(session, format).splitlines()) >= 10
        assert session.scalar(text("SHOW jit")) == "off"
        session.rollback()
        assert session.scalar(text("SHOW jit")) == before


def test_json_lines_are_read_a_chunk_at_a_time_or_one_at_a_time_alike(session, monkeypatch):
    """psycopg's wheel reads rows in chunks (libpq 17 on); where psycopg or libpq cannot, one row at a
    time: slower, the same lines."""
    assert export_sql.rows_a_read() == (export_sql.BATCH if psycopg.capabilities.has_stream_chunked() else 1)
    if session.get_bind().dialect.name != "postgresql":
        return
    seed_events(session, 12_000)  # more than two chunks
    in_chunks = exported(session, "jsonl")
    monkeypatch.setattr(export_sql, "rows_a_read", lambda: 1)
    assert exported(session, "jsonl") == in_chunks
    assert len(in_chunks.splitlines()) == 12_000


@pytest.mark.parametrize("format", ["csv", "jsonl"])
def test_an_error_while_the_lines_are_sent_leaves_a_session_that_rolls_back(session, format):
    """An error raised between two chunks (here the CLI's progress bar) ends the query with it: a
    stream left open held the connection's lock while the error's traceback lived, and the
    command's rollback waited for it forever."""
    seed_events(session, 12_000)
    session.commit()

    def progress(lines):
        raise OSError("the terminal went away")

    def export_then_roll_back():
        with app.app_context(), pytest.raises(OSError) as raised:
            b"".join(stream_events(session, format, ExportFilters(), progress=progress))
        outcome["error"] = raised  # the traceback, and the frames in it, still alive
        session.rollback()
        outcome["rolled back"] = True

    app, outcome = current_app._get_current_object(), {}
    worker = threading.Thread(target=export_then_roll_back, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert outcome.get("rolled back"), "the rollback after the error never returned"
    assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 12_000
