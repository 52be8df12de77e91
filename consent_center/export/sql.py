"""The CSV and JSON Lines export formatted by the database: on PostgreSQL and on SQLite.

Fetching 21 columns through a cursor and formatting them in Python kept
the export at a third of the floor's rows per second. Here the database
joins, formats and quotes each event into one line of text: PostgreSQL
streams CSV with COPY and each JSON line as one value (``concat()``);
SQLite builds each CSV line with one ``printf()`` (a single allocation,
where ``||`` copied the line at every column) and each JSON line with one
``json_object()``. Python only joins lines. The
bytes are those of ``export``'s Python writers (a property test holds the
two to each other on both databases): Python's csv quoting, ``json.dumps``
escaping, keys in sorted order.

It needs evidence and trace stored as canonical JSON, which the engine
does for events from ``CanonicalJsonSince`` on. A selection reaching older
events takes the Python way.
"""
from __future__ import annotations

import codecs
from contextlib import closing
from typing import Callable, Iterable, Iterator

from flask import current_app
from psycopg import capabilities
from sqlalchemy import LargeBinary, Text, and_, case, cast, func, literal, literal_column, select, type_coerce
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session, aliased

from consent_center.check.answer import ALLOWED_AT_OWN_MOMENT
from consent_center.export.dpv import DPV_STATUS, RENEWED, UNKNOWN
from consent_center.models import (
    CanonicalJsonSince,
    Channel,
    ConsentEvent,
    PolicyText,
    PolicyVersion,
    Receipt,
    Subject,
)
from consent_center.models.vocabulary import EventType, Status

BATCH = 5000  # lines per chunk sent

# How a column is written in JSON. OURS: only ever made by the center's
# code (uuid4, token_hex, SHA-256 hex, the vocabulary's codes, times) and
# never updated (the ledger is append-only), so never needing an escape;
# SET: OURS and never NULL; TEXT: free text; NUMBER: an integer; JSON:
# canonical JSON text as stored; BOOL: the text true or false, never NULL,
# written as it is in CSV and JSON alike.
OURS, SET, TEXT, NUMBER, JSON, BOOL = "ours", "set", "text", "number", "json", "bool"


def formatted_by_database(session: Session, where: Callable) -> bool:
    """Whether the database can write the lines of the events ``where`` selects: all stored canonically."""
    if session.get_bind().dialect.name not in ("postgresql", "sqlite"):
        return False
    first = session.scalar(select(CanonicalJsonSince.first_event_id))
    if first is None:
        return False
    older = where(select(ConsentEvent.id).where(ConsentEvent.id < first)).limit(1)
    return session.scalar(older) is None


def database_lines(session: Session, format: str, where: Callable,
                   progress: Callable[[int], None]) -> Iterator[bytes]:
    """Yield, as chunks of UTF-8, the lines of the events ``where`` selects, in id order (CSV without header)."""
    if session.get_bind().dialect.name == "postgresql":
        return _postgres_lines(session, format, where, progress)
    return _sqlite_lines(session, format, where, progress)


def _postgres_lines(session: Session, format: str, where: Callable,
                    progress: Callable[[int], None]) -> Iterator[bytes]:
    fields = _fields("postgresql")
    default_locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    if format == "csv":
        columns = [_csv_value(value, kind) for _, value, kind in fields]
    else:
        # As UTF-8 bytes (bytea, read in binary): nothing to decode, nor to recode from another client encoding.
        columns = [func.convert_to(_json_line(fields), "UTF8", type_=LargeBinary)]
    stmt = where(select(*columns).select_from(_joins(default_locale, "postgresql"))).order_by(ConsentEvent.id)
    connection = session.connection()
    compiled = stmt.compile(dialect=connection.dialect)
    driver = connection.connection.driver_connection
    # Closed before its end (a client gone, or an error raised while the lines
    # were being sent), the query is cancelled and the transaction left aborted:
    # the request's or command's rollback ends it.
    with driver.cursor(binary=True) as cursor:
        # Its cost passes jit_above_cost from a few hundred thousand events on, and each parallel
        # process then compiles its ~60 expressions: a tenth of a JSON Lines export of 400,000 events
        # went on compiling what is mostly calls to to_char(), to_json() and concat(), which JIT
        # leaves as calls. For the rest of the transaction, which the export ends.
        cursor.execute("SET LOCAL jit = off")
        if format == "csv":
            # COPY quotes a field exactly when Python's csv.writer does (a comma, a quote, CR or LF),
            # except the empty string, which it writes as NULL (``_csv_value``); and it writes in
            # the connection's encoding: passed on as they are in UTF-8, else recoded.
            encoding = driver.info.encoding
            with cursor.copy(f"COPY ({compiled}) TO STDOUT (FORMAT csv)", compiled.params) as copy:
                # One row a line, ending with COPY's LF, where csv.writer ends a line with CRLF.
                yield from _in_chunks((row[:-1] for row in copy), b"\r\n", progress, encoding)
        else:
            # Not COPY: psycopg reads a COPY a row at a time in Python, ~2 µs a row, and on two
            # cores the export's client and server share them; a query's rows are read by libpq
            # and psycopg's C code, a chunk at a time (``rows_a_read``), and a plain query keeps
            # the parallel plan a cursor (DECLARE) would lose. Closed here, not when the garbage
            # is collected: a stream left open holds the connection's lock, and the rollback
            # after an error would wait for it forever.
            with closing(cursor.stream(str(compiled), compiled.params, size=rows_a_read())) as rows:
                yield from _in_chunks((line for line, in rows), b"\n", progress)


def rows_a_read() -> int:
    """The rows libpq reads at once: a chunk where psycopg and libpq can (17 on, which psycopg's wheel
    bundles), else one: the same lines, a little slower."""
    return BATCH if capabilities.has_stream_chunked() else 1


def _in_chunks(lines: Iterable[bytes], end: bytes, progress: Callable[[int], None],
               encoding: str = "utf-8") -> Iterator[bytes]:
    """The lines (in ``encoding``) as chunks of ``BATCH`` lines in UTF-8, each line ending with ``end``."""
    recode = codecs.lookup(encoding).name != "utf-8"
    batch: list = []
    for line in lines:
        batch.append(line)
        if len(batch) == BATCH:
            chunk = _joined(batch, end)
            yield chunk.decode(encoding).encode("utf-8") if recode else chunk
            progress(BATCH)
            batch = []
    if batch:
        chunk = _joined(batch, end)
        yield chunk.decode(encoding).encode("utf-8") if recode else chunk
        progress(len(batch))


def _joined(lines: list, end: bytes) -> bytes:
    """The lines, each ending with ``end``: the last one's in the join, not in one more copy of the chunk."""
    return end.join([*lines, b""])


def _sqlite_lines(session: Session, format: str, where: Callable,
                  progress: Callable[[int], None]) -> Iterator[bytes]:
    fields = _fields("sqlite")
    if format == "csv":
        line = func.printf(",".join("%s" for _ in fields), *(_csv_text(value, kind) for _, value, kind in fields))
        end = b"\r\n"
    else:
        # json_object() writes the object in one pass, escaping as json_quote() does: a tenth
        # faster than printf() over a template (1.37–1.41 s against 1.54–1.59 s for 400,000 lines).
        line = func.json_object(*(part for name, value, kind in sorted(fields, key=lambda field: field[0])
                                  for part in (literal_column(f"'{name}'"), _json_member(value, kind))))
        end = b"\n"
    default_locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    # As a BLOB: sqlite3 hands over the UTF-8 as bytes, where text would be decoded.
    stmt = where(select(cast(line, LargeBinary)).select_from(_joins(default_locale, "sqlite"))).order_by(ConsentEvent.id)
    result = session.connection().execute(stmt)
    cursor = result.cursor  # one column that needs no processing: straight from sqlite3
    try:
        while rows := cursor.fetchmany(BATCH):
            yield _joined([row[0] for row in rows], end)
            progress(len(rows))
    finally:
        result.close()  # a client that goes away mid-download frees the cursor


# The policy text a receipt showed: the one in its language, else English,
# else the first (export._policy_text_index); the fallback, one row per version.
_shown = aliased(PolicyText, name="shown_text")
_FALLBACK_ORDER = (PolicyText.locale != "en", PolicyText.locale)
_ranked = (
    select(PolicyText.policy_version_id, PolicyText.locale, PolicyText.sha256,
           func.row_number().over(partition_by=PolicyText.policy_version_id, order_by=_FALLBACK_ORDER)
           .label("rank"))
    .subquery("ranked_text")
)
_FALLBACK = {
    "postgresql": (
        select(PolicyText.policy_version_id, PolicyText.locale, PolicyText.sha256)
        .ext(distinct_on(PolicyText.policy_version_id))
        .order_by(PolicyText.policy_version_id, *_FALLBACK_ORDER)
        .subquery("fallback_text")
    ),
    # SQLite has no DISTINCT ON: the first of each version's texts by rank.
    # (PostgreSQL keeps DISTINCT ON: the ranked form made its JSON Lines export a third slower.)
    "sqlite": (
        select(_ranked.c.policy_version_id, _ranked.c.locale, _ranked.c.sha256)
        .where(_ranked.c.rank == 1)
        .subquery("fallback_text")
    ),
}


def _joins(default_locale: str, dialect: str):
    language = func.coalesce(func.nullif(Receipt.language, ""), default_locale)
    fallback = _FALLBACK[dialect]
    return (
        ConsentEvent.__table__.join(Subject.__table__, Subject.id == ConsentEvent.subject_id)
        .join(Channel.__table__, Channel.id == ConsentEvent.channel_id)
        .join(Receipt.__table__, Receipt.id == ConsentEvent.receipt_id)
        .outerjoin(PolicyVersion.__table__, PolicyVersion.id == ConsentEvent.policy_version_id)
        .outerjoin(_shown, and_(_shown.policy_version_id == ConsentEvent.policy_version_id,
                                _shown.locale == language))
        .outerjoin(fallback, fallback.c.policy_version_id == ConsentEvent.policy_version_id)
    )


def _fields(dialect: str) -> list[tuple[str, object, str]]:
    """(column, SQL value, how JSON writes it), in export.COLUMNS order."""
    # The status is looked up once (CASE status WHEN …), not compared once per term.
    dpv = case(
        (and_(ConsentEvent.event_type == EventType.RENEWED, ConsentEvent.status == Status.GRANTED), RENEWED),
        else_=case({str(status): term for status, term in DPV_STATUS.items()}, value=ConsentEvent.status,
                   else_=UNKNOWN),
    )
    # The consent answer at the event's own moment (answer.event_answer, allowed_at_own_moment).
    # (CASE status WHEN …: an IN would be an expanding parameter, which COPY's compiled text cannot hold.)
    allowed = case({status: literal_column("'true'", Text) for status in ALLOWED_AT_OWN_MOMENT},
                   value=ConsentEvent.status, else_=literal_column("'false'", Text))
    fallback = _FALLBACK[dialect]
    return [
        ("event_id", ConsentEvent.public_id, SET),
        ("occurred_at", time_text(ConsentEvent.occurred_at, dialect), SET),
        ("subject_id", Subject.public_id, SET),
        ("seq", ConsentEvent.seq, NUMBER),
        ("channel", Channel.code, TEXT),
        ("previous_status", ConsentEvent.previous_status, OURS),
        ("status", ConsentEvent.status, SET),
        ("allowed", allowed, BOOL),
        ("dpv_status", dpv, SET),
        ("event_type", ConsentEvent.event_type, SET),
        ("basis", ConsentEvent.basis, SET),
        ("source", ConsentEvent.source, SET),
        ("actor_type", ConsentEvent.actor_type, SET),
        ("actor_id", ConsentEvent.actor_id, TEXT),
        ("policy_version", PolicyVersion.label, TEXT),
        ("policy_text_locale", func.coalesce(_shown.locale, fallback.c.locale), TEXT),
        ("policy_text_sha256", func.coalesce(_shown.sha256, fallback.c.sha256), OURS),
        ("receipt_id", Receipt.public_id, SET),
        ("prev_hash", ConsentEvent.prev_hash, OURS),
        ("hash", ConsentEvent.hash, SET),
        # SQLAlchemy stores None as the JSON text null; both go out as nothing.
        ("evidence", func.nullif(_as_text(ConsentEvent.evidence, dialect), "null"), JSON),
        ("trace", func.nullif(_as_text(ConsentEvent.trace, dialect), "null"), JSON),
    ]


def _as_text(column, dialect: str):
    # SQLite's JSON column is already text: no CAST to run on every row.
    return type_coerce(column, Text) if dialect == "sqlite" else cast(column, Text)


def time_text(column, dialect: str):
    """The UTC time as ``chain.format_time`` writes it, formatted by the database."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    # SQLite keeps UTC as 'YYYY-MM-DD HH:MM:SS.ffffff'.
    return func.replace(cast(column, Text), " ", "T").concat("Z")


def _csv_value(value, kind: str):
    # csv.writer writes None and "" alike, as nothing; COPY quotes "". Only free text can be "".
    return value if kind in (NUMBER, OURS, SET, BOOL) else func.nullif(value, "")


def _json_line(fields):
    """One concat() per line: a single allocation, where || would copy the line at every column.

    A SET column's quotes are in the literals around it: two || and a coalesce() less per column,
    a tenth of the server's time for a line."""
    parts: list = []
    between = "{"  # the text between two values, one literal
    for name, value, kind in sorted(fields, key=lambda field: field[0]):
        between += ("" if between == "{" else ",") + f'"{name}":'
        if kind == SET:  # never NULL: its quotes join the literals around it, as SQLite's template does
            parts += [literal(between + '"'), value]
            between = '"'
        else:
            parts += [literal(between), _json_value(value, kind)]
            between = ""
    return func.concat(*parts, literal(between + "}"), type_=Text)


def _json_value(value, kind: str):
    if kind in (NUMBER, BOOL):
        return value
    if kind == JSON:
        return func.coalesce(value, "null")
    if kind in (OURS, SET):
        return func.coalesce(literal('"').concat(value).concat('"'), "null")
    return func.coalesce(cast(func.to_json(value), Text), "null")


# SQLite's CSV, one printf() a line: a field is quoted exactly when Python's
# csv.writer quotes it (a comma, a quote, CR or LF), its quotes doubled;
# OURS and SET never hold one of them. NULL and "" are both written as nothing.
_NEEDS_QUOTES = '*[,"\r\n]*'


def _csv_text(value, kind: str):
    if kind in (NUMBER, OURS, SET, BOOL):
        return value
    quoted = literal('"').concat(func.replace(value, '"', '""')).concat('"')
    return case((value.op("GLOB")(literal(_NEEDS_QUOTES)), quoted), else_=value)


def _json_member(value, kind: str):
    """A value as json_object() writes it: text quoted and escaped as json.dumps(ensure_ascii=False)
    does, NULL as null; JSON text (and the words true and false) as JSON, through json()."""
    if kind in (JSON, BOOL):
        return func.json(value)  # NULL (and the stored text null, made NULL) stays NULL: null
    return value
