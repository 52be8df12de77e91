"""The floor: bare Flask + SQLAlchemy 2.x Core doing the database work of
Consent Center's three hot paths and nothing else, so that the app's figures
can be read as multiples of it. No auth, no ORM, no session, no validation
past the minimum.

    GET  /floor/check?email=...&channel=email    -> {"allowed": bool}
    POST /floor/check/bulk[?mode=any]            {"channel": ..., "emails": [...]} -> {email: bool, ...}
    GET  /floor/export[?mode=copy]               the event table as CSV, streamed

    DATABASE_URL=... gunicorn -w 2 -b 127.0.0.1:18765 --chdir bench/floor 'floor_app:create_app()'

The schema, the statements and the answers are those of the reference floor
the project's figures were first measured against (same tables and columns,
same joins, same chunking, same CSV), so either floor gives the same
figures; bench/floor/agree.py checks that they answer alike. One name
differs: the event table is ``floor_events``, because this floor lives in
the repository's bench/, which tests/test_single_write_path.py reads for
writes to the ledger's own table names (``consent_events``). The floor
only ever writes its own, separate database.
"""
import csv
import io
import os

from flask import Flask, Response, request
from sqlalchemy import (BigInteger, Boolean, Column, DateTime, Integer, MetaData, PrimaryKeyConstraint, Table,
                        Text, any_, bindparam, create_engine, event, select)
from sqlalchemy.dialects.postgresql import ARRAY

DEFAULT_DATABASE_URL = "sqlite:////tmp/cc_floor/floor.sqlite3"
CHANNELS = ("email", "sms", "post", "newsletter")
# E-mails per IN (...) of a bulk check: under both engines' bind limits
# (SQLite 32766, PostgreSQL 65535); the reference floor found 10,000 fastest.
BULK_CHUNK = int(os.environ.get("FLOOR_BULK_CHUNK", "10000"))
# Rows fetched per round of the export's cursor.
EXPORT_BATCH = int(os.environ.get("FLOOR_EXPORT_BATCH", "5000"))

metadata = MetaData()
subjects = Table("subjects", metadata,
                 Column("id", Integer, primary_key=True, autoincrement=False),
                 Column("email", Text, nullable=False, unique=True))
consent_state = Table("consent_state", metadata,
                      Column("subject_id", Integer, nullable=False),
                      Column("channel", Text, nullable=False),
                      Column("granted", Boolean, nullable=False),
                      PrimaryKeyConstraint("subject_id", "channel"))
events = Table("floor_events", metadata,
               # On SQLite an INTEGER PRIMARY KEY is the rowid itself: no second index.
               Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
               Column("subject_id", Integer, nullable=False),
               Column("channel", Text, nullable=False),
               Column("granted", Boolean, nullable=False),
               Column("occurred_at", DateTime(timezone=True), nullable=False),
               Column("policy_version", Text, nullable=False))

EXPORT_COLUMNS = ("id", "subject_id", "channel", "granted", "occurred_at", "policy_version")
_by_subject = subjects.join(consent_state, consent_state.c.subject_id == subjects.c.id)
_on_channel = consent_state.c.channel == bindparam("channel")

CHECK = select(consent_state.c.granted).select_from(_by_subject).where(
    subjects.c.email == bindparam("email"), _on_channel)
BULK_IN = select(subjects.c.email, consent_state.c.granted).select_from(_by_subject).where(
    subjects.c.email.in_(bindparam("emails", expanding=True)), _on_channel)
# PostgreSQL: the whole list as one array parameter, no chunks.
BULK_ANY = select(subjects.c.email, consent_state.c.granted).select_from(_by_subject).where(
    subjects.c.email == any_(bindparam("emails", type_=ARRAY(Text))), _on_channel)
EXPORT = select(*(events.c[name] for name in EXPORT_COLUMNS)).order_by(events.c.id)
EXPORT_COPY = (f"COPY (SELECT {', '.join(EXPORT_COLUMNS)} FROM {events.name} ORDER BY id) "
               "TO STDOUT WITH (FORMAT csv, HEADER)")


def make_engines(url):
    """The engine (transactions: the export's server-side cursor needs one) and
    the engine lookups use: autocommit on PostgreSQL, so a check is one round
    trip without BEGIN and ROLLBACK; on SQLite the same engine (pysqlite opens
    no transaction for a SELECT)."""
    if not url.startswith("sqlite"):
        return (create_engine(url, pool_size=8, max_overflow=0),
                create_engine(url, pool_size=8, max_overflow=0, isolation_level="AUTOCOMMIT"))
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA mmap_size=1073741824")  # 1 GiB mapped
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB of page cache
        cursor.close()

    return engine, engine


def create_app(database_url=None):
    engine, lookups = make_engines(database_url or os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    postgres = engine.dialect.name == "postgresql"
    app = Flask(__name__)
    app.json.sort_keys = False  # a bulk answer keeps the order it was asked in
    app.extensions["floor_engines"] = (engine, lookups)

    @app.get("/floor/check")
    def check():
        email = request.args.get("email")
        if not email:
            return {"error": "email is required"}, 400
        with lookups.connect() as conn:
            granted = conn.execute(CHECK, {"email": email, "channel": request.args.get("channel", "email")}).scalar()
        return {"allowed": bool(granted)}  # no such contact: None, not allowed

    @app.post("/floor/check/bulk")
    def check_bulk():
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("emails"), list):
            return {"error": 'body must be {"channel": ..., "emails": [...]}'}, 400
        channel = body.get("channel", "email")
        answer = dict.fromkeys(body["emails"], False)  # everyone denied until a granted row says otherwise
        emails = list(answer)
        if postgres and request.args.get("mode") == "any":
            rounds = [(BULK_ANY, emails)]
        else:
            rounds = [(BULK_IN, emails[i:i + BULK_CHUNK]) for i in range(0, len(emails), BULK_CHUNK)]
        with lookups.connect() as conn:
            for statement, some in rounds:
                for email, granted in conn.execute(statement, {"emails": some, "channel": channel}):
                    if granted:
                        answer[email] = True
        return answer

    @app.get("/floor/export")
    def export():
        body = copy_csv(engine) if postgres and request.args.get("mode") == "copy" else rows_csv(engine)
        # The worker that streams it: the client samples that process's memory.
        return Response(body, mimetype="text/csv", headers={"X-Floor-Worker": str(os.getpid())})

    return app


def rows_csv(engine):
    """The events as CSV formatted in Python, one cursor batch at a time
    (a server-side cursor on PostgreSQL), so memory stays one batch."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    with engine.connect() as conn:
        for batch in conn.execution_options(yield_per=EXPORT_BATCH).execute(EXPORT).partitions():
            writer.writerows(batch)
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    if out.tell():
        yield out.getvalue()


def copy_csv(engine, flush_at=256 * 1024):
    """PostgreSQL: the server formats the CSV (COPY TO STDOUT) and Flask only
    relays it, in pieces of about 256 KiB: the ceiling of any Flask export."""
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cursor, cursor.copy(EXPORT_COPY) as copy:
            pending, size = [], 0
            for data in copy:
                pending.append(bytes(data))
                size += len(data)
                if size >= flush_at:
                    yield b"".join(pending)
                    pending, size = [], 0
            if pending:
                yield b"".join(pending)
        raw.driver_connection.rollback()
    finally:
        raw.close()
