"""Everything the center holds about one subject, as one document (GDPR art. 15 and 20).

The JSON format is described by ``docs/subject-export.schema.json`` and in
docs/rights-and-retention.md; the CSV is the same content flattened to ``section, item,
field, value`` lines, one value each.
"""
from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from consent_center.canonical import format_time
from consent_center.clock import utcnow
from consent_center.models import Account, ConsentEvent, ConsentState, DataRequest, Receipt, Subject
from consent_center.models.vocabulary import ActorType
from consent_center.receipts.documents import document_of
from consent_center.safe_text import spreadsheet_cell

FORMAT = "consent-center/subject-export"
VERSION = 1


def _time(moment) -> str | None:
    return format_time(moment) if moment else None


def trace_shown(event: ConsentEvent) -> dict | None:
    """Return the trace the person may see: their own (how they chose), never staff's or a tool's.

    A change made by staff or an API client on the person's behalf carries
    that staff member's or tool's network and browser: their data, not the
    person's. Its hash then cannot be recomputed from this document alone
    (the audit export keeps every trace).
    """
    return event.trace if event.actor_type == ActorType.SUBJECT else None


def subject_export(session: Session, subject: Subject) -> dict:
    """Return the portable document of everything held about ``subject``."""
    account = session.scalars(select(Account).where(Account.subject_id == subject.id)).first()
    states = session.scalars(select(ConsentState).where(ConsentState.subject_id == subject.id)).all()
    events = session.scalars(
        select(ConsentEvent).where(ConsentEvent.subject_id == subject.id)
        .options(joinedload(ConsentEvent.receipt)).order_by(ConsentEvent.seq)).all()
    receipts = session.scalars(select(Receipt).where(Receipt.subject_id == subject.id).order_by(Receipt.id)).all()
    requests = session.scalars(select(DataRequest).where(DataRequest.subject_id == subject.id)
                               .order_by(DataRequest.id)).all()
    return {
        "format": FORMAT,
        "version": VERSION,
        "generatedAt": format_time(utcnow()),
        "subject": {
            "publicId": subject.public_id,
            "name": subject.name,
            "email": subject.email,
            "phone": subject.phone,
            "postalAddress": subject.postal_address,
            "locale": subject.locale,
            "externalRef": subject.external_ref,
            "isCustomer": subject.is_customer,
            "createdAt": _time(subject.created_at),
            "updatedAt": _time(subject.updated_at),
            "lastContactAt": _time(subject.last_contact_at),
            "lastContactKind": subject.last_contact_kind,
        },
        "account": None if account is None else {
            "email": account.email,
            "locale": account.locale,
            "active": account.active,
            "createdAt": _time(account.created_at),
            "lastLoginAt": _time(account.last_login_at),
            "passwordChangedAt": _time(account.password_changed_at),
        },
        "consentStates": [{
            "channel": s.channel.code,
            "status": s.status,
            "legalBasis": s.basis,
            "policyVersion": s.policy_version.label if s.policy_version else None,
            "changedAt": _time(s.changed_at),
        } for s in sorted(states, key=lambda s: (s.channel.position, s.channel.code))],
        "consentEvents": [{
            "id": e.public_id,
            "seq": e.seq,
            "channel": e.channel.code,
            "status": e.status,
            "previousStatus": e.previous_status,
            "legalBasis": e.basis,
            "eventType": e.event_type,
            "source": e.source,
            "actorType": e.actor_type,
            "policyVersion": e.policy_version.label if e.policy_version else None,
            "occurredAt": _time(e.occurred_at),
            "receipt": e.receipt.public_id,
            "evidence": e.evidence,
            "trace": trace_shown(e),
            "hash": e.hash,
        } for e in events],
        "receipts": [{
            "id": r.public_id,
            "issuedAt": _time(r.issued_at),
            "document": document_of(r),
            "jws": r.jws,
        } for r in receipts],
        "requests": [{
            "id": r.public_id,
            "kind": r.kind,
            "status": r.status,
            "receivedAt": _time(r.received_at),
            "dueAt": _time(r.due_at),
            "extendedAt": _time(r.extended_at),
            "extensionReason": r.extension_reason,
            "identityVerifiedAt": _time(r.identity_verified_at),
            "completedAt": _time(r.completed_at),
            "details": r.details,
            "trustedContact": r.trusted_contact,
            "outcome": r.outcome,  # a key: access, portability, restriction, lifted, objection, erasure, post_mortem
        } for r in requests],
    }


def _flatten(value, prefix: str = ""):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flatten(inner, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _flatten(inner, f"{prefix}[{index}]")
    else:
        yield prefix, value


def export_csv(document: dict) -> str:
    """Return the export as CSV lines: section, item, field, value.

    A value a spreadsheet would take for a formula (a name ``=HYPERLINK(…)``) gets a leading
    quote (safe_text.spreadsheet_cell); the JSON export keeps every value as it is."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["section", "item", "field", "value"])
    for section in ("subject", "account"):
        for name, value in _flatten(document[section] or {}):
            writer.writerow([section, "", name, "" if value is None else spreadsheet_cell(value)])
    for section in ("consentStates", "consentEvents", "receipts", "requests"):
        for index, item in enumerate(document[section]):
            item = {k: v for k, v in item.items() if k not in ("document", "jws")}
            for name, value in _flatten(item):
                writer.writerow([section, index + 1, name, "" if value is None else spreadsheet_cell(value)])
    return out.getvalue()
