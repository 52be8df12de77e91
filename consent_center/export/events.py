"""The ledger export: every consent event as CSV, JSON Lines or JSON-LD, streamed.

Memory stays flat whatever the size: rows come from a server-side cursor
in batches and leave as text chunks. The output is byte-stable for a given
filter and ledger: events in id order, times in one fixed format, JSON with
sorted keys, nothing that depends on when the export ran.

CSV and JSON Lines of events stored as canonical JSON are formatted by
the database (export/sql.py: SQL on PostgreSQL, printf() on SQLite), to
the same bytes; JSON-LD and older events go through the writers here.

``allowed`` is the consent answer for the state each event produced, at
the event's own moment (``check.answer.event_answer``): it depends on the
ledger alone, so it keeps the export byte-stable.

The policy text hash is that of the text in the receipt's language, the
one the subject was shown (with the receipt's fallback when the version
has no text in that language); ``policy_text_locale`` names it.
"""
from __future__ import annotations

import csv
import io
import json
import operator
from contextlib import closing
from typing import Callable, Iterator

from flask import current_app
from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from consent_center.canonical import canonical_json
from consent_center.check.answer import allowed_at_own_moment
from consent_center.export.dpv import DPV, DPV_LEGAL_BASIS, dpv_status
from consent_center.export.filters import ExportFilters, ResolvedFilters, parse_format
from consent_center.export.sql import database_lines, formatted_by_database, time_text
from consent_center.models import Channel, ConsentEvent, PolicyText, PolicyVersion, Receipt, Subject

# CSV injection (OWASP): unlike the other CSV files (safe_text.spreadsheet_cell), this export
# neutralises nothing, so that both writers stay byte-equal and every hash can be recomputed
# from it. No cell can start a formula: ids are hex, uuid or numbers, times digits, statuses and
# the other enums ours, channel codes [a-z][a-z0-9_]*, locales fr/nl/en, evidence and trace JSON
# objects ("{"); the one free text, the policy version label (which the hash covers), may not
# start with = + - @ (policies.service.publish_policy; strip() takes a leading tab or CR).
COLUMNS = (
    "event_id", "occurred_at", "subject_id", "seq", "channel", "previous_status", "status", "allowed",
    "dpv_status", "event_type", "basis", "source", "actor_type", "actor_id", "policy_version",
    "policy_text_locale", "policy_text_sha256", "receipt_id", "prev_hash", "hash", "evidence", "trace",
)

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/jsonl; charset=utf-8",
    "jsonld": "application/ld+json; charset=utf-8",
}

BATCH = 5000  # rows per fetch from the server-side cursor (the floor's batch)
CHUNK_ROWS = 200


def download_name(format: str) -> str:
    return {"csv": "consent-events.csv", "jsonl": "consent-events.jsonl",
            "jsonld": "consent-events.jsonld"}[format]


def stream_events(session: Session, format: str, filters: ExportFilters,
                  progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """Return the export of the events ``filters`` select, as chunks of UTF-8.

    Checks the format and the filters first (FilterError before any
    output), then returns a generator to hand to a streamed response or
    write to a file. ``progress(n)`` is called as rows go out. Bytes, not
    text: the lines the database formats come as bytes, and decoding them
    only to encode them again for the socket cost a tenth of the export.
    """
    format = parse_format(format)
    resolved = filters.resolve(session)
    progress = progress or (lambda n: None)

    def where(stmt):
        return _filtered(stmt, resolved)

    if format in ("csv", "jsonl") and formatted_by_database(session, where):
        lines = database_lines(session, format, where, progress)
        return _with_header(lines) if format == "csv" else lines
    rows = _rows(session, resolved, json_as_text=format == "csv")
    writer = {"csv": _csv, "jsonl": _jsonl, "jsonld": _jsonld}[format]
    return _encoded(writer(rows, progress))


def _encoded(chunks: Iterator[str]) -> Iterator[bytes]:
    with closing(chunks):  # closed with this generator: a download given up ends the query
        for chunk in chunks:
            yield chunk.encode("utf-8")


def count_events(session: Session, filters: ExportFilters) -> int:
    """Return how many events the export of ``filters`` holds."""
    resolved = filters.resolve(session)
    stmt = _filtered(select(func.count()).select_from(ConsentEvent), resolved)
    return session.scalar(stmt) or 0


def _filtered(stmt, resolved: ResolvedFilters):
    f = resolved.filters
    if f.since is not None:
        stmt = stmt.where(ConsentEvent.occurred_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(ConsentEvent.occurred_at < f.until)
    if resolved.channel_id is not None:
        stmt = stmt.where(ConsentEvent.channel_id == resolved.channel_id)
    if resolved.subject_id is not None:
        stmt = stmt.where(ConsentEvent.subject_id == resolved.subject_id)
    if resolved.policy_version_id is not None:
        stmt = stmt.where(ConsentEvent.policy_version_id == resolved.policy_version_id)
    if f.source is not None:
        stmt = stmt.where(ConsentEvent.source == f.source)
    return stmt


def _rows(session: Session, resolved: ResolvedFilters, json_as_text: bool) -> Iterator[tuple]:
    """Yield each event as a tuple in COLUMNS order.

    Core rows, with the time and the JSON columns fetched as the database's
    text: parsing them into objects only to write them out again was half
    of the export's time. Evidence and traces repeat (the same route, the
    same network), so each distinct text is made canonical once.
    """
    text_for = _policy_text_index(session)
    connection = session.connection()
    e, s, c, r, p = (ConsentEvent.__table__.c, Subject.__table__.c, Channel.__table__.c,
                     Receipt.__table__.c, PolicyVersion.__table__.c)
    stmt = _filtered(
        select(
            e.public_id, time_text(e.occurred_at, connection.dialect.name), s.public_id, e.seq, c.code,
            e.previous_status, e.status, e.event_type, e.basis, e.source, e.actor_type, e.actor_id,
            e.policy_version_id, p.label, r.public_id, r.language, e.prev_hash, e.hash,
            cast(e.evidence, Text), cast(e.trace, Text),
        )
        .select_from(
            ConsentEvent.__table__.join(Subject.__table__, s.id == e.subject_id)
            .join(Channel.__table__, c.id == e.channel_id)
            .join(Receipt.__table__, r.id == e.receipt_id)
            .outerjoin(PolicyVersion.__table__, p.id == e.policy_version_id)),
        resolved,
    ).order_by(e.id).execution_options(yield_per=BATCH)
    json_value = _CanonicalJson(as_text=json_as_text)
    # The answer at the event's own moment (answer.event_answer), as CSV text or a JSON boolean.
    allowed_value = {True: "true", False: "false"} if json_as_text else {True: True, False: False}
    result = connection.execute(stmt)
    try:
        for (event_id, occurred_at, subject, seq, channel, previous, status, event_type, basis, source,
             actor_type, actor_id, version_id, label, receipt, language, prev_hash, hash_,
             evidence, trace) in result:
            locale, sha256 = text_for(version_id, language)
            yield (event_id, occurred_at, subject, seq, channel, previous, status,
                   allowed_value[allowed_at_own_moment(status)], dpv_status(status, event_type), event_type, basis, source, actor_type, actor_id,
                   label, locale, sha256, receipt, prev_hash, hash_, json_value(evidence), json_value(trace))
    finally:
        result.close()  # a client that goes away mid-download frees the cursor


class _CanonicalJson:
    """Turn a JSON column's stored text into its canonical form (text or key-sorted object), once per text."""

    LIMIT = 50_000

    def __init__(self, as_text: bool) -> None:
        self.as_text = as_text
        self.known: dict[str, object] = {}

    def __call__(self, stored: str | None):
        if stored is None or stored == "null":
            return None
        try:
            return self.known[stored]
        except KeyError:
            if len(self.known) >= self.LIMIT:
                self.known.clear()
            canonical = canonical_json(json.loads(stored))
            # Parsing the canonical text gives objects whose keys are already
            # sorted: json.dumps then writes them canonically without sort_keys.
            value = canonical if self.as_text else json.loads(canonical)
            self.known[stored] = value
            return value


def _policy_text_index(session: Session) -> Callable[[int | None, str | None], tuple]:
    """Return a lookup (policy version id, language) -> (text locale, SHA-256), as receipts choose."""
    texts: dict[int, dict[str, str]] = {}
    for version_id, locale, sha256 in session.execute(
        select(PolicyText.policy_version_id, PolicyText.locale, PolicyText.sha256).order_by(PolicyText.locale)
    ):
        texts.setdefault(version_id, {})[locale] = sha256
    default = current_app.config["BABEL_DEFAULT_LOCALE"]

    def text_for(version_id: int | None, language: str | None) -> tuple:
        by_locale = texts.get(version_id) if version_id is not None else None
        if not by_locale:
            return None, None
        for locale in (language or default, "en"):
            if locale in by_locale:
                return locale, by_locale[locale]
        first = next(iter(by_locale))
        return first, by_locale[first]

    return text_for


def _batches(rows: Iterator[tuple], progress: Callable[[int], None]) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK_ROWS:
            yield batch
            progress(len(batch))
            batch = []
    if batch:
        yield batch
        progress(len(batch))


def _csv_header() -> str:
    header = io.StringIO()
    csv.writer(header, lineterminator="\r\n").writerow(COLUMNS)
    return header.getvalue()


def _with_header(lines: Iterator[bytes]) -> Iterator[bytes]:
    yield _csv_header().encode("utf-8")
    yield from lines


def _csv(rows: Iterator[tuple], progress) -> Iterator[str]:
    yield _csv_header()
    for batch in _batches(rows, progress):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(batch)
        yield buffer.getvalue()


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


_SORTED_COLUMNS = tuple(sorted(COLUMNS))
_IN_SORTED_ORDER = operator.itemgetter(*(COLUMNS.index(name) for name in _SORTED_COLUMNS))
_dumps_in_order = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _jsonl(rows: Iterator[tuple], progress) -> Iterator[str]:
    # Keys inserted in sorted order (nested ones come sorted from _rows):
    # the same bytes as sort_keys=True, without sorting every line.
    for batch in _batches(rows, progress):
        yield "".join(_dumps_in_order(dict(zip(_SORTED_COLUMNS, _IN_SORTED_ORDER(row)))) + "\n"
                      for row in batch)


def jsonld_context() -> dict:
    """Return the JSON-LD context of the export: DPV terms, and ours for the rest."""
    ours = current_app.config["BASE_URL"] + "/ns/consent#"
    context: dict = {
        "@version": 1.1, "dpv": DPV, "cc": ours,
        "dcterms": "http://purl.org/dc/terms/", "xsd": "http://www.w3.org/2001/XMLSchema#",
        "subject_id": {"@id": "dpv:hasDataSubject", "@type": "@id"},
        "dpv_status": {"@id": "dpv:hasConsentStatus", "@type": "@id"},
        "legal_basis": {"@id": "dpv:hasLegalBasis", "@type": "@id"},
        "occurred_at": {"@id": "dcterms:created", "@type": "xsd:dateTime"},
        "receipt_id": {"@id": "cc:receipt", "@type": "@id"},
        "evidence": {"@id": "cc:evidence", "@type": "@json"},
        "trace": {"@id": "cc:trace", "@type": "@json"},
        "seq": {"@id": "cc:seq", "@type": "xsd:integer"},
        "allowed": {"@id": "cc:allowed", "@type": "xsd:boolean"},
    }
    for column in COLUMNS:
        context.setdefault(column, f"cc:{column}")
    return context


def _jsonld(rows: Iterator[tuple], progress) -> Iterator[str]:
    yield '{"@context":' + _json(jsonld_context()) + ',"@graph":[\n'
    separator = ""
    for batch in _batches(rows, progress):
        nodes = []
        for row in batch:
            node = dict(zip(COLUMNS, row))
            node["@id"] = f"urn:uuid:{node['event_id']}"
            node["@type"] = "dpv:ConsentRecord"
            node["subject_id"] = f"urn:consent-center:subject:{node['subject_id']}"
            node["receipt_id"] = f"urn:uuid:{node['receipt_id']}"
            node["legal_basis"] = DPV_LEGAL_BASIS.get(node["basis"])
            nodes.append(separator + _json(node))
            separator = ",\n"
        yield "".join(nodes)
    yield "\n]}\n"
