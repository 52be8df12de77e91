"""The ledger export: every consent event as CSV, JSON Lines or JSON-LD, streamed.

Memory stays flat whatever the size: rows come from a server-side cursor
in batches and leave as text chunks. The output is byte-stable for a given
filter and ledger: events in id order, times in one fixed format, JSON with
sorted keys, nothing that depends on when the export ran.

The policy text hash is that of the text in the receipt's language, the
one the subject was shown (with the receipt's fallback when the version
has no text in that language); ``policy_text_locale`` names it.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Callable, Iterator

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .chain import canonical_json, format_time
from .export_filters import ExportFilters, ResolvedFilters, parse_format
from .models import Channel, ConsentEvent, PolicyText, PolicyVersion, Receipt, Subject
from .models.vocabulary import Basis, EventType, Status

COLUMNS = (
    "event_id", "occurred_at", "subject_id", "seq", "channel", "previous_status", "status",
    "dpv_status", "event_type", "basis", "source", "actor_type", "actor_id", "policy_version",
    "policy_text_locale", "policy_text_sha256", "receipt_id", "prev_hash", "hash", "evidence", "trace",
)

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/jsonl; charset=utf-8",
    "jsonld": "application/ld+json; charset=utf-8",
}

DPV = "https://w3id.org/dpv#"
DPV_STATUS = {
    Status.GRANTED: "dpv:ConsentGiven",
    Status.WITHDRAWN: "dpv:ConsentWithdrawn",
    Status.REFUSED: "dpv:ConsentRefused",
    Status.EXPIRED: "dpv:ConsentExpired",
    Status.NEVER_ASKED: "dpv:ConsentUnknown",
    # Restriction (GDPR art. 18) has no DPV status of its own: it is not valid for processing.
    Status.RESTRICTED: "dpv:ConsentStatusInvalidForProcessing",
}
DPV_LEGAL_BASIS = {
    Basis.CONSENT: "dpv:Consent",
    # The soft opt-in (ePrivacy art. 13(2)) rests on GDPR art. 6(1)(f).
    Basis.SOFT_OPT_IN: "dpv:LegitimateInterest",
    Basis.LEGITIMATE_INTEREST: "dpv:LegitimateInterest",
}
BATCH = 1000
CHUNK_ROWS = 200


def dpv_status(status: str, event_type: str | None = None) -> str:
    """Return the W3C DPV consent status of a ledger status."""
    if status == Status.GRANTED and event_type == EventType.RENEWED:
        return "dpv:RenewedConsentGiven"
    return DPV_STATUS.get(status, "dpv:ConsentUnknown")


def download_name(format: str) -> str:
    return {"csv": "consent-events.csv", "jsonl": "consent-events.jsonl",
            "jsonld": "consent-events.jsonld"}[format]


def stream_events(session: Session, format: str, filters: ExportFilters,
                  progress: Callable[[int], None] | None = None) -> Iterator[str]:
    """Return the export of the events ``filters`` select, as text chunks.

    Checks the format and the filters first (FilterError before any
    output), then returns a generator to hand to a streamed response or
    write to a file. ``progress(n)`` is called as rows go out.
    """
    format = parse_format(format)
    resolved = filters.resolve(session)
    rows = _rows(session, resolved)
    writer = {"csv": _csv, "jsonl": _jsonl, "jsonld": _jsonld}[format]
    return writer(rows, progress or (lambda n: None))


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


def _rows(session: Session, resolved: ResolvedFilters) -> Iterator[tuple]:
    """Yield each event as a tuple in COLUMNS order."""
    text_for = _policy_text_index(session)
    stmt = _filtered(
        select(
            ConsentEvent.public_id, ConsentEvent.occurred_at, Subject.public_id.label("subject"),
            ConsentEvent.seq, Channel.code, ConsentEvent.previous_status, ConsentEvent.status,
            ConsentEvent.event_type, ConsentEvent.basis, ConsentEvent.source, ConsentEvent.actor_type,
            ConsentEvent.actor_id, ConsentEvent.policy_version_id, PolicyVersion.label,
            Receipt.public_id.label("receipt"), Receipt.language, ConsentEvent.prev_hash,
            ConsentEvent.hash, ConsentEvent.evidence, ConsentEvent.trace,
        )
        .join(Subject, Subject.id == ConsentEvent.subject_id)
        .join(Channel, Channel.id == ConsentEvent.channel_id)
        .join(Receipt, Receipt.id == ConsentEvent.receipt_id)
        .outerjoin(PolicyVersion, PolicyVersion.id == ConsentEvent.policy_version_id),
        resolved,
    ).order_by(ConsentEvent.id).execution_options(yield_per=BATCH)
    result = session.execute(stmt)
    try:
        for (event_id, occurred_at, subject, seq, channel, previous, status, event_type, basis, source,
             actor_type, actor_id, version_id, label, receipt, language, prev_hash, hash_,
             evidence, trace) in result:
            locale, sha256 = text_for(version_id, language)
            yield (event_id, format_time(occurred_at), subject, seq, channel, previous, status,
                   dpv_status(status, event_type), event_type, basis, source, actor_type, actor_id,
                   label, locale, sha256, receipt, prev_hash, hash_, evidence, trace)
    finally:
        result.close()  # a client that goes away mid-download frees the cursor


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


_EVIDENCE, _TRACE = COLUMNS.index("evidence"), COLUMNS.index("trace")


def _csv(rows: Iterator[tuple], progress) -> Iterator[str]:
    def flat(row: tuple) -> tuple:
        evidence, trace = row[_EVIDENCE], row[_TRACE]
        if evidence is None and trace is None:
            return row
        return row[:_EVIDENCE] + (_text(evidence), _text(trace)) + row[_TRACE + 1:]

    header = io.StringIO()
    csv.writer(header, lineterminator="\r\n").writerow(COLUMNS)
    yield header.getvalue()
    for batch in _batches(rows, progress):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(map(flat, batch))
        yield buffer.getvalue()


def _text(value) -> str | None:
    return None if value is None else canonical_json(value)


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _jsonl(rows: Iterator[tuple], progress) -> Iterator[str]:
    for batch in _batches(rows, progress):
        yield "".join(_json(dict(zip(COLUMNS, row))) + "\n" for row in batch)


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
