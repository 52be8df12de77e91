"""The CSV and JSON Lines export on PostgreSQL, formatted by the database and sent by COPY.

Fetching 21 columns through a cursor and formatting them in Python kept
the export at a third of the floor's rows per second. Here PostgreSQL
joins, formats and quotes each event and streams the rows with COPY;
Python only turns COPY's line ends into the export's and joins lines. The
bytes are those of ``export``'s Python writers (a property test holds the
two to each other): Python's csv quoting, ``json.dumps`` escaping, keys in
sorted order.

It needs evidence and trace stored as canonical JSON, which the engine
does for events from ``CanonicalJsonSince`` on. A selection reaching older
events, and SQLite (where building lines in SQL measured slower than
Python), take the Python way.
"""
from __future__ import annotations

from typing import Callable, Iterator

from flask import current_app
from sqlalchemy import Text, and_, case, cast, func, literal, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session, aliased

from .dpv import DPV_STATUS, RENEWED, UNKNOWN
from .models import CanonicalJsonSince, Channel, ConsentEvent, PolicyText, PolicyVersion, Receipt, Subject
from .models.vocabulary import EventType, Status

BATCH = 5000  # lines per chunk sent

# How a column is written in JSON. OURS: only ever made by the center's
# code (uuid4, token_hex, SHA-256 hex, the vocabulary's codes, times) and
# never updated (the ledger is append-only), so never needing an escape;
# TEXT: free text; NUMBER: an integer; JSON: canonical JSON text as stored.
OURS, TEXT, NUMBER, JSON = "ours", "text", "number", "json"

# CSV: PostgreSQL quotes a field exactly when Python's csv.writer does (a
# comma, a quote, CR or LF), except the empty string, which becomes NULL.
_CSV = "(FORMAT csv)"
# JSON Lines, one column: a quote and a delimiter that never occur, so COPY
# writes each line as it is (JSON escapes every control character).
_ONE_COLUMN = "(FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"


def copy_possible(session: Session, where: Callable) -> bool:
    """Whether the events ``where`` selects can go out by COPY: PostgreSQL, all stored canonically."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    first = session.scalar(select(CanonicalJsonSince.first_event_id))
    if first is None:
        return False
    older = where(select(ConsentEvent.id).where(ConsentEvent.id < first)).limit(1)
    return session.scalar(older) is None


def copy_lines(session: Session, format: str, where: Callable,
               progress: Callable[[int], None]) -> Iterator[str]:
    """Yield, as text chunks, the lines of the events ``where`` selects, in id order (CSV without header)."""
    fields = _fields()
    if format == "csv":
        columns, options, end = [_csv_value(value, kind) for _, value, kind in fields], _CSV, b"\r\n"
    else:
        columns, options, end = [_json_line(fields)], _ONE_COLUMN, b"\n"
    default_locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    stmt = where(select(*columns).select_from(_joins(default_locale))).order_by(ConsentEvent.id)
    connection = session.connection()
    compiled = stmt.compile(dialect=connection.dialect)
    driver = connection.connection.driver_connection
    encoding = driver.info.encoding
    # Closed before its end (a client gone), the COPY is cancelled and the
    # transaction left aborted: the request's or command's rollback ends it.
    with driver.cursor() as cursor, cursor.copy(f"COPY ({compiled}) TO STDOUT {options}", compiled.params) as copy:
        batch: list = []
        for row in copy:  # one row each, ending with COPY's LF
            batch.append(_unwrapped(row) if row[0] == 1 and format != "csv" else row[:-1])
            if len(batch) == BATCH:
                yield (end.join(batch) + end).decode(encoding)
                progress(len(batch))
                batch = []
        if batch:
            yield (end.join(batch) + end).decode(encoding)
            progress(len(batch))


def _unwrapped(row) -> bytes:
    """A JSON line COPY quoted because it holds a CR or LF (none should: JSON escapes them)."""
    return bytes(row[1:-2]).replace(b"\x01\x01", b"\x01")


# The policy text a receipt showed: the one in its language, else English,
# else the first (export._policy_text_index); the fallback, one row per version.
_shown = aliased(PolicyText, name="shown_text")
_fallback = (
    select(PolicyText.policy_version_id, PolicyText.locale, PolicyText.sha256)
    .ext(distinct_on(PolicyText.policy_version_id))
    .order_by(PolicyText.policy_version_id, PolicyText.locale != "en", PolicyText.locale)
    .subquery("fallback_text")
)


def _joins(default_locale: str):
    language = func.coalesce(func.nullif(Receipt.language, ""), default_locale)
    return (
        ConsentEvent.__table__.join(Subject.__table__, Subject.id == ConsentEvent.subject_id)
        .join(Channel.__table__, Channel.id == ConsentEvent.channel_id)
        .join(Receipt.__table__, Receipt.id == ConsentEvent.receipt_id)
        .outerjoin(PolicyVersion.__table__, PolicyVersion.id == ConsentEvent.policy_version_id)
        .outerjoin(_shown, and_(_shown.policy_version_id == ConsentEvent.policy_version_id,
                                _shown.locale == language))
        .outerjoin(_fallback, _fallback.c.policy_version_id == ConsentEvent.policy_version_id)
    )


def _fields() -> list[tuple[str, object, str]]:
    """(column, SQL value, how JSON writes it), in export.COLUMNS order."""
    dpv = case(
        (and_(ConsentEvent.status == Status.GRANTED, ConsentEvent.event_type == EventType.RENEWED), RENEWED),
        *((ConsentEvent.status == status, term) for status, term in DPV_STATUS.items()),
        else_=UNKNOWN,
    )
    return [
        ("event_id", ConsentEvent.public_id, OURS),
        ("occurred_at", func.to_char(func.timezone("UTC", ConsentEvent.occurred_at),
                                     'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), OURS),
        ("subject_id", Subject.public_id, OURS),
        ("seq", ConsentEvent.seq, NUMBER),
        ("channel", Channel.code, TEXT),
        ("previous_status", ConsentEvent.previous_status, OURS),
        ("status", ConsentEvent.status, OURS),
        ("dpv_status", dpv, OURS),
        ("event_type", ConsentEvent.event_type, OURS),
        ("basis", ConsentEvent.basis, OURS),
        ("source", ConsentEvent.source, OURS),
        ("actor_type", ConsentEvent.actor_type, OURS),
        ("actor_id", ConsentEvent.actor_id, TEXT),
        ("policy_version", PolicyVersion.label, TEXT),
        ("policy_text_locale", func.coalesce(_shown.locale, _fallback.c.locale), TEXT),
        ("policy_text_sha256", func.coalesce(_shown.sha256, _fallback.c.sha256), OURS),
        ("receipt_id", Receipt.public_id, OURS),
        ("prev_hash", ConsentEvent.prev_hash, OURS),
        ("hash", ConsentEvent.hash, OURS),
        # SQLAlchemy stores None as the JSON text null; both go out as nothing.
        ("evidence", func.nullif(cast(ConsentEvent.evidence, Text), "null"), JSON),
        ("trace", func.nullif(cast(ConsentEvent.trace, Text), "null"), JSON),
    ]


def _csv_value(value, kind: str):
    # csv.writer writes None and "" alike, as nothing; COPY quotes "".
    return value if kind == NUMBER else func.nullif(value, "")


def _json_line(fields):
    """One concat() per line: a single allocation, where || would copy the line at every column."""
    parts: list = []
    for i, (name, value, kind) in enumerate(sorted(fields, key=lambda field: field[0])):
        parts += [literal(("{" if i == 0 else ",") + f'"{name}":'), _json_value(value, kind)]
    return func.concat(*parts, literal("}"), type_=Text)


def _json_value(value, kind: str):
    if kind == NUMBER:
        return value
    if kind == JSON:
        return func.coalesce(value, "null")
    if kind == OURS:
        return func.coalesce(literal('"').concat(value).concat('"'), "null")
    return func.coalesce(cast(func.to_json(value), Text), "null")
