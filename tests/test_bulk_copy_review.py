"""A hostile review of the bulk path by COPY (ledger/writes.py write_many, db/copy.py) and of the
transparency log's integration by COPY, mostly on PostgreSQL.

Run on PostgreSQL with CONSENT_TEST_DATABASE_URL (tests marked "postgres" skip on SQLite).
"""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest
import sqlalchemy.exc
from freezegun import freeze_time
from sqlalchemy import func, select, text

from consent_center.db import Base
from consent_center.ledger import Actor, LedgerError, UnknownChannel, record_change
from consent_center.ledger.bulk import Submission, record_many
from consent_center.ledger.chain import verify_chains
from consent_center.ledger.transparency import integrate
from consent_center.models import (
    ConsentEvent,
    ConsentState,
    OutboxMessage,
    Receipt,
    Subject,
)
from consent_center.models.vocabulary import ActorType, EventType, Source, Status
from consent_center.outbox.webhooks import add_endpoint
from consent_center.policies.service import publish_policy

from .ledger_consistency import assert_ledger_consistent

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def on_postgres(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def postgres_only(session):
    if not on_postgres(session):
        pytest.skip("COPY is the PostgreSQL path; SQLite keeps executemany")


def _subject(session, email, locale="en", **fields):
    subject = Subject(email=email, locale=locale, is_customer=True, **fields)
    session.add(subject)
    session.flush()
    return subject


def _table_text(session, table: str, where: str, params: dict, skip=()) -> list[tuple]:
    """Every column of the rows, as PostgreSQL/SQLite hold them (text), in id/seq order."""
    columns = [c.name for c in Base.metadata.tables[table].c if c.name not in skip]
    casts = ", ".join(f"CAST({c} AS TEXT)" for c in columns)
    order = {"consent_events": "seq", "consent_states": "channel_id"}.get(table, "id")
    return [dict(zip(columns, row)) for row in session.execute(
        text(f"SELECT {casts} FROM {table} WHERE {where} ORDER BY {order}"), params)]


# --- 1. Moments: the UTCDateTime type's checks are not run by COPY ------------------------------

def test_the_bulk_path_refuses_a_naive_moment_as_record_change_and_sqlite_do(app, session):
    """UTCDateTime refuses a naive datetime (db/__init__.py); the bulk path refuses it before any
    write, on every engine, rather than leave it to a COPY that would dump it as it is."""
    subject = _subject(session, "naive@example.com")
    session.commit()
    with pytest.raises(LedgerError, match="without its time zone"):
        record_many(session, [Submission(subject, {"email": "granted"}, Source.IMPORT, Actor.system(),
                                         at=datetime(2026, 1, 1, 12, 0))])
    session.rollback()


@pytest.mark.postgres
def test_postgres_a_naive_moment_under_a_server_zone_other_than_utc_is_refused(app, session):
    """Where the server's TimeZone is not UTC (Debian's initdb takes the system's zone), a naive
    timestamp would be read in that zone and stored apart from the hashed moment: it is refused."""
    postgres_only(session)
    subject = _subject(session, "zone@example.com")
    session.commit()
    session.execute(text("SET TIME ZONE 'Europe/Paris'"))
    with pytest.raises(LedgerError, match="without its time zone"):
        record_many(session, [Submission(subject, {"email": "granted"}, Source.IMPORT, Actor.system(),
                                         at=datetime(2026, 1, 1, 12, 0))])
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 0


@pytest.mark.postgres
def test_postgres_aware_moments_in_other_zones_are_stored_as_the_same_instant(app, session):
    """Control for the two above: an aware moment in +05:30 is the same instant by COPY and by INSERT."""
    postgres_only(session)
    session.execute(text("SET TIME ZONE 'America/St_Johns'"))
    zone = timezone(timedelta(hours=5, minutes=30))
    single, bulk = _subject(session, "s@example.com"), _subject(session, "b@example.com")
    at = datetime(2026, 1, 1, 12, 0, tzinfo=zone)
    with freeze_time(at):
        record_change(session, single, {"email": "granted"}, source=Source.IMPORT, actor=Actor.system())
    record_many(session, [Submission(bulk, {"email": "granted"}, Source.IMPORT, Actor.system(), at=at)])
    session.commit()
    for subject in (single, bulk):
        assert session.scalar(select(ConsentEvent.occurred_at).where(ConsentEvent.subject_id == subject.id)) == at
        assert session.scalar(select(ConsentState.changed_at).where(ConsentState.subject_id == subject.id)) == at
        assert session.scalar(select(Receipt.issued_at).where(Receipt.subject_id == subject.id)) == at


def test_a_bulk_moment_given_in_another_zone_keeps_the_chain_verifiable(app, session):
    """Not COPY's doing (SQLite too): ``Submission.at`` is hashed as given. format_time() writes
    the wall time of a +05:30 moment followed by "Z", while the column stores the instant: the
    event's hash no longer matches what is stored. record_change only ever hashes utcnow()."""
    subject = _subject(session, "zone@example.com")
    at = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    record_many(session, [Submission(subject, {"email": "granted"}, Source.IMPORT, Actor.system(), at=at)])
    session.commit()
    assert verify_chains(session).ok


# --- 2. Faults during the COPY: not SQLAlchemy's errors ------------------------------------------

REFUSE_RECEIPTS = [
    """CREATE FUNCTION review_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF current_setting('review.refuse', true) = 'on' THEN
           RAISE EXCEPTION 'lock wait timed out (simulated)' USING ERRCODE = '55P03';
         END IF;
         RETURN NEW;
       END $$""",
    "CREATE TRIGGER review_refuse BEFORE INSERT ON receipts FOR EACH ROW EXECUTE FUNCTION review_refuse()",
]


@pytest.mark.postgres
def test_postgres_a_database_error_during_the_copy_is_raised_as_sqlalchemy_raises_it(app, session):
    """record_change's fault is a sqlalchemy.exc.OperationalError (a DBAPIError: the web's 503
    handler, the pool's disconnect handling, ``handle_error`` hooks see it); the same fault during
    COPY comes out of the raw psycopg cursor as a bare psycopg error."""
    postgres_only(session)
    for statement in REFUSE_RECEIPTS:
        session.execute(text(statement))
    single, bulk = _subject(session, "s@example.com"), _subject(session, "b@example.com")
    session.commit()
    session.execute(text("SET review.refuse = 'on'"))
    with pytest.raises(sqlalchemy.exc.OperationalError):
        record_change(session, single, {"email": "granted"}, source=Source.IMPORT, actor=Actor.system())
    session.rollback()
    session.execute(text("SET review.refuse = 'on'"))
    with pytest.raises(sqlalchemy.exc.DBAPIError) as raised:
        record_many(session, [Submission(bulk, {"email": "granted"}, Source.IMPORT, Actor.system())])
    assert isinstance(raised.value, sqlalchemy.exc.OperationalError)


@pytest.mark.postgres
def test_postgres_the_log_integration_s_database_error_is_a_sqlalchemy_error(app, session):
    postgres_only(session)
    subject = _subject(session, "s@example.com")
    record_change(session, subject, {"email": "granted"}, source=Source.IMPORT, actor=Actor.system())
    session.execute(text(REFUSE_RECEIPTS[0]))
    session.execute(text("CREATE TRIGGER review_refuse BEFORE INSERT ON log_leaves FOR EACH ROW "
                         "EXECUTE FUNCTION review_refuse()"))
    session.commit()
    session.execute(text("SET review.refuse = 'on'"))
    with pytest.raises(sqlalchemy.exc.OperationalError):
        integrate(session)
    session.rollback()


# --- 3. Awkward values: COPY stores what the single path stores ----------------------------------

AWKWARD = "tab\there, newline\nthere, cr\r, backslash \\ and \\N, quote \" ' , NUL-escape \\0, é ß 日本 🙂 \u2028"


def test_awkward_values_are_stored_as_the_single_path_stores_them(app, session, runner):
    publish_policy(session, "2026-01", {"en": "Policy:\n\t" + AWKWARD}, effective_at=T0 - timedelta(days=3))
    single = _subject(session, "single@example.com")
    bulk = _subject(session, "bulk@example.com")
    actor = Actor(ActorType.API_CLIENT, "tool\t\\N\n" + "é" * 10)
    evidence = {"text": AWKWARD, "nul": "\u0000", "empty": {}, "list": [], "none": None, "n": 1.5,
                "ünï": {"🙂": AWKWARD}}
    script = [
        ({"email": "granted", "sms": "refused"}, dict(source=Source.DEFAULT, actor=Actor.system(),
                                                       event_type=EventType.DEFAULT, trace={})),
        ({"email": Status.WITHDRAWN, "newsletter": Status.GRANTED},
         dict(source=Source.API, actor=actor, evidence=evidence, trace={"ua": AWKWARD})),
        ({"sms": "granted"}, dict(source=Source.API, actor=actor, evidence={})),
        ({"sms": "withdrawn"}, dict(source=Source.STAFF, actor=Actor(ActorType.ACCOUNT, "7"), evidence=None)),
    ]
    moments = [T0 + timedelta(minutes=i) for i in range(len(script))]
    for moment, (changes, kw) in zip(moments, script):
        with freeze_time(moment):
            record_change(session, single, changes, **kw)
    record_many(session, [Submission(bulk, changes, at=moment, **kw) for moment, (changes, kw) in zip(moments, script)],
                chunk=1)
    session.commit()

    ignore = {"id", "public_id", "subject_id", "receipt_id", "hash", "prev_hash", "txid"}
    single_events = _table_text(session, "consent_events", "subject_id = :s", {"s": single.id}, ignore)
    bulk_events = _table_text(session, "consent_events", "subject_id = :s", {"s": bulk.id}, ignore)
    assert bulk_events == single_events
    assert any(AWKWARD in (row["trace"] and json.loads(row["trace"]).get("ua", "")) for row in bulk_events)
    assert session.scalars(select(ConsentEvent.actor_id).where(ConsentEvent.subject_id == bulk.id,
                                                               ConsentEvent.source == "api")).first() == actor.id
    states = [_table_text(session, "consent_states", "subject_id = :s", {"s": s.id}, {"subject_id", "event_id"})
              for s in (single, bulk)]
    assert states[0] == states[1] and states[0]
    # Receipts: same columns but the ids (the document names the subject and the events).
    receipts = [_table_text(session, "receipts", "subject_id = :s", {"s": s.id}, {"id", "public_id", "subject_id",
                                                                                 "document", "jws"})
                for s in (single, bulk)]
    assert receipts[0] == receipts[1]
    documents = [[_anonymous(d) for d in session.scalars(select(Receipt.document).where(Receipt.subject_id == s.id)
                                                         .order_by(Receipt.id))] for s in (single, bulk)]
    assert documents[0] == documents[1] and len(documents[0]) == 4
    assert_ledger_consistent(session)
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output


def _anonymous(document: str) -> dict:
    found = json.loads(document)
    for key in ("consentReceiptID", "jti", "piiPrincipalId", "sub"):
        found.pop(key)
    for event in found["events"]:
        event.pop("id"), event.pop("hash"), event.pop("prevHash")
    return found


# --- 4. A bulk failing halfway leaves nothing -----------------------------------------------------

def _counts(session):
    return tuple(session.scalar(select(func.count()).select_from(table))
                 for table in (Receipt, ConsentEvent, ConsentState, OutboxMessage))


def _many(session, count, prefix):
    subjects = [_subject(session, f"{prefix}{i}@example.com") for i in range(count)]
    return [Submission(s, {"email": "granted", "sms": "refused"}, Source.IMPORT, Actor.system()) for s in subjects]


def test_a_bulk_that_fails_in_its_third_chunk_leaves_nothing_after_the_rollback(app, session):
    add_endpoint(session, "https://hooks.example.com/a")
    session.commit()
    before = _counts(session)
    submissions = _many(session, 6, "half") + [Submission(_subject(session, "z@example.com"),
                                                           {"nope": "granted"}, Source.IMPORT, Actor.system())]
    with pytest.raises(UnknownChannel):
        record_many(session, submissions, chunk=3)
    assert _counts(session)[0] == before[0] + 6  # two chunks were written
    session.rollback()
    assert _counts(session) == before
    assert_ledger_consistent(session)


def test_a_bulk_failing_under_a_savepoint_leaves_the_outer_transaction_whole(app, session, runner):
    """The outer transaction's own change stays; the bulk's chunks go with the savepoint."""
    outer = _subject(session, "outer@example.com")
    record_change(session, outer, {"email": "granted"}, source=Source.STAFF, actor=Actor.system())
    before = _counts(session)
    submissions = _many(session, 4, "nested")
    with pytest.raises(LedgerError):
        with session.begin_nested():
            record_many(session, [*submissions, Submission(outer, {"nope": "granted"}, Source.IMPORT,
                                                           Actor.system())], chunk=2)
    assert _counts(session) == before
    record_many(session, submissions, chunk=3)  # the same subjects, again, for real
    session.commit()
    assert _counts(session)[1] == before[1] + 8
    assert_ledger_consistent(session)
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0


@pytest.mark.postgres
def test_postgres_a_copy_refused_by_the_database_under_a_savepoint_leaves_the_outer_transaction_usable(
        app, session):
    postgres_only(session)
    for statement in REFUSE_RECEIPTS:
        session.execute(text(statement))
    session.commit()
    outer = _subject(session, "outer@example.com")
    record_change(session, outer, {"email": "granted"}, source=Source.STAFF, actor=Actor.system())
    submissions = _many(session, 4, "nested")
    before = _counts(session)
    with pytest.raises((psycopg.Error, sqlalchemy.exc.DBAPIError)), session.begin_nested():  # psycopg's today
        record_many(session, submissions[:2], chunk=1)
        session.execute(text("SET LOCAL review.refuse = 'on'"))
        record_many(session, submissions[2:], chunk=1)
    session.execute(text("SET LOCAL review.refuse = 'off'"))
    assert _counts(session) == before
    record_many(session, submissions, chunk=3)
    session.commit()
    assert _counts(session)[1] == before[1] + 8
    assert_ledger_consistent(session)


def test_an_import_failing_in_its_second_batch_leaves_nothing_after_the_rollback(app, session, monkeypatch):
    import io

    from consent_center.subjects import importer

    from .test_import import HEADER, good_row

    calls = []
    real = importer.record_many

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the second batch fails")
        return real(*args, **kwargs)

    monkeypatch.setattr(importer, "record_many", failing)
    lines = [",".join(HEADER)] + [",".join(f'"{v}"' for v in good_row(i, phone="")) for i in range(5)]
    before = _counts(session) + (session.scalar(select(func.count()).select_from(Subject)),)
    with pytest.raises(RuntimeError):
        importer.import_contacts(session, io.StringIO("\n".join(lines) + "\n"), actor=Actor.system(), chunk=3)
    session.rollback()
    assert _counts(session) + (session.scalar(select(func.count()).select_from(Subject)),) == before


# --- 8. The admin upload when the database goes away during the COPY -----------------------------

CUT_DURING_IMPORT = [
    """CREATE FUNCTION review_cut() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.document LIKE '%"collectionMethod":"import"%' THEN
           PERFORM pg_terminate_backend(pg_backend_pid());
           PERFORM pg_sleep(5);
         END IF;
         RETURN NEW;
       END $$""",
    "CREATE TRIGGER review_cut BEFORE INSERT ON receipts FOR EACH ROW EXECUTE FUNCTION review_cut()",
]


@pytest.mark.postgres
@pytest.mark.settings(PROPAGATE_EXCEPTIONS=False)
def test_postgres_an_upload_cut_by_the_database_answers_503_as_every_other_write(app, session, client, make_account,
                                                                                  auth):
    """errors.py answers 503 (Retry-After) to a DBAPIError that means the database went away; the
    raw psycopg.OperationalError out of the COPY is no DBAPIError: the admin gets a 500."""
    from consent_center.models import Role

    from .test_admin_import import upload
    from .test_import import good_row

    postgres_only(session)
    make_account("ada@example.com", role=Role.ADMIN, locale="en")
    auth.login("ada@example.com")
    for statement in CUT_DURING_IMPORT:
        session.execute(text(statement))
    session.commit()
    before = _counts(session)
    try:
        response = upload(client, [good_row(1), good_row(2)])
    except Exception as error:  # noqa: BLE001
        pytest.fail(f"the upload raised {type(error).__module__}.{type(error).__name__} out of the app "
                    f"(a bare 500 from the WSGI server) instead of answering 503: {str(error).splitlines()[0]}")
    assert response.status_code == 503, response.status_code
    assert response.headers.get("Retry-After") == "5"
    session.rollback()
    assert _counts(session) == before


# --- 9. Erasure after a bulk import: the JSON columns read as the single path's ---------------------

def _erase_reports(session, subject):
    from consent_center.rights.erasure import erase
    return len(erase(session, subject, actor=Actor.system()))


def test_erasure_finds_the_same_events_naming_the_person_after_the_bulk_and_the_single_path(app, session):
    from consent_center.subjects.service import create_subject

    evidence = {"text": "form signed by Ada Lovelace", "external_ref": "CRM-1"}
    single = create_subject(session, actor=Actor.system(), email="ada@example.com", name="Ada Lovelace",
                            is_customer=True, external_ref="CRM-1")
    record_change(session, single, {"newsletter": "granted"}, source=Source.IMPORT, actor=Actor.system(),
                  evidence=evidence)
    bulk = _subject(session, "ada2@example.com", name="Ada Lovelace", external_ref="CRM-2")
    record_many(session, [Submission(bulk, {"email": "granted", "sms": "refused"}, Source.DEFAULT, Actor.system(),
                                     event_type=EventType.DEFAULT),
                          Submission(bulk, {"newsletter": "granted"}, Source.IMPORT, Actor.system(),
                                     evidence=evidence | {"external_ref": "CRM-2"}),
                          Submission(bulk, {"post": "granted"}, Source.IMPORT, Actor.system(), evidence={})])
    session.commit()
    assert _erase_reports(session, single) == _erase_reports(session, bulk) == 1
    session.commit()
    assert_ledger_consistent(session)


def test_erasure_does_not_report_events_without_evidence_as_naming_a_person_called_null(app, session):
    """Pre-existing, both paths: ``evidence=None`` is stored as the JSON 'null' (SQLAlchemy's JSON
    type, none_as_null=False), not SQL NULL, so ``evidence IS NOT NULL`` keeps every event and
    canonical_json(None) == "null" names anyone whose name is in it ("Null", "Nu", ...)."""
    bulk = _subject(session, "null@example.com", name="Null")
    record_many(session, [Submission(bulk, {"email": "granted", "sms": "refused"}, Source.DEFAULT, Actor.system(),
                                     event_type=EventType.DEFAULT)])
    session.commit()
    assert session.scalar(select(func.count()).select_from(ConsentEvent).where(ConsentEvent.evidence.is_(None))) == 0
    assert _erase_reports(session, bulk) == 0
