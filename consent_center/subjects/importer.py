"""Import of contacts and their consent states from a CSV file.

The file format (UTF-8, comma-separated, header row) is documented in
docs/commands.md. Rows are validated first, in Python, so a bad row is reported
and skipped without touching the database; good rows add their subjects and
go through the ledger's bulk path, ``ledger.bulk.record_many`` (the starting
states of a new contact, then the file's, source ``import``: what
``create_subject`` and ``record_change`` would record, receipts included),
chunk by chunk in the command's one transaction. Idempotent on
``external_ref``: a second run of the same file records nothing.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, Callable, Iterable

from flask import current_app
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from consent_center.clock import utcnow
from consent_center.ledger import Actor, ErasedSubject, LedgerError, RestrictedChannel, current_statuses_of
from consent_center.ledger.bulk import Submission, default_submission, record_many
from consent_center.ledger.partners import shares_without_consent
from consent_center.models import Channel, Subject
from consent_center.models.vocabulary import Basis, Medium, Source, Status
from consent_center.safe_text import has_control_characters
from consent_center.subjects.suppression import newly_suppressed, suppressed_among
from consent_center.addresses import LOCALES, AddressError, normalise_email, normalise_phone, phone_region
from consent_center.subjects.service import SubjectError, add_subject

_SUPPRESSED = {
    "email": "this e-mail address was erased on request (suppression list); not imported",
    "phone": "this phone number was erased on request (suppression list); not imported",
}
RESTRICTED = ("the use of this person's data is restricted (GDPR art. 18): %(channels)s cannot be changed to "
              "resume processing until the restriction is lifted through the rights request")
ERASED = "this person was erased at their request (GDPR art. 17): no consent can be recorded for them"
SHARING = ("%(channels)s passes contact details to partners: only an explicit consent (basis consent) turns it on, "
           "not %(basis)s; not imported")
CONTACT_COLUMNS = ("external_ref", "email", "phone", "name", "locale", "postal_address", "customer")
OTHER_COLUMNS = ("basis", "evidence", "collected_at")
OPTED_OUT = (Status.WITHDRAWN, Status.REFUSED)
UNGROUNDED = ("%(channels)s cannot be granted on %(basis)s: the soft opt-in is for existing customers only, and "
              "e-mail and SMS need consent or the soft opt-in; not imported")
OPTED_OUT_KEPT = ("%(channel)s: the person's %(status)s stands; only an explicit consent (basis consent) turns it on "
                  "again, not %(basis)s; kept")
CONSENT_PREFIX = "consent_"
IMPORTABLE_STATUSES = {Status.GRANTED, Status.WITHDRAWN, Status.REFUSED, Status.NEVER_ASKED}
TRUE_WORDS, FALSE_WORDS = {"yes", "y", "true", "1", "oui", "ja"}, {"no", "n", "false", "0", "non", "nee", ""}
MAX_FIELD = {"external_ref": 100, "email": 320, "name": 200, "postal_address": 1000, "evidence": 2000}


class Message(str):
    """A report message: English text (the command line prints it), with its template and values kept.

    The back office shows it in the admin's language: ``admin/import_messages.py``
    holds every template for translation, filled with the same values.
    """

    template: str
    values: dict

    def __new__(cls, template: str, **values) -> "Message":
        message = super().__new__(cls, template % values)
        message.template, message.values = template, values
        return message


def _message_of(error: Exception) -> str:
    """The message an error carries: its ``Message`` when it has one, else its text."""
    if error.args and isinstance(error.args[0], Message):
        return error.args[0]
    if isinstance(error, RestrictedChannel):
        return Message(RESTRICTED, channels=", ".join(error.codes))
    if isinstance(error, ErasedSubject):
        return Message(ERASED)
    return str(error)


class ImportFileError(ValueError):
    """The file itself cannot be read as an import (header, encoding)."""


@dataclass
class ContactRow:
    line: int
    external_ref: str
    email: str | None
    phone: str | None
    name: str | None
    locale: str
    postal_address: str | None
    is_customer: bool
    consents: dict[str, str]
    basis: str
    evidence: str | None
    collected_at: datetime | None


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    kept: list[tuple[int, str]] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.changed + self.unchanged


def read_rows(stream: IO[str], channel_codes: set[str]) -> tuple[list[ContactRow], list[tuple[int, str]]]:
    """Parse and validate every row; return the good rows and the errors by line."""
    reader = csv.DictReader(stream)
    header = [h.strip() for h in (reader.fieldnames or [])]
    if "external_ref" not in header:
        raise ImportFileError(Message("the header must name an external_ref column (see docs/commands.md)"))
    known = set(CONTACT_COLUMNS) | set(OTHER_COLUMNS) | {CONSENT_PREFIX + c for c in channel_codes}
    unknown = [h for h in header if h not in known]
    if unknown:
        raise ImportFileError(Message("unknown column(s): %(columns)s", columns=", ".join(unknown)))
    reader.fieldnames = header
    rows, errors = [], []
    seen_refs: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        try:
            row = _parse(line, record, channel_codes)
            for key, seen, label in ((row.external_ref, seen_refs, "external_ref"),
                                     (row.email, seen_emails, "email")):
                if key and key in seen:
                    raise SubjectError(Message("%(column)s repeats line %(line)s", column=label, line=seen[key]))
            seen_refs[row.external_ref] = line
            if row.email:
                seen_emails[row.email] = line
            rows.append(row)
        except (SubjectError, AddressError, ValueError) as exc:
            errors.append((line, _message_of(exc)))
    return rows, errors


def _parse(line: int, record: dict, channel_codes: set[str]) -> ContactRow:
    if None in record:
        raise ValueError(Message("more fields than the header names"))
    values = {k: (v or "").strip() for k, v in record.items()}
    for name, limit in MAX_FIELD.items():
        if len(values.get(name, "")) > limit:
            raise ValueError(Message("%(column)s is longer than %(limit)s characters", column=name, limit=limit))
    for name, value in values.items():
        if any(ord(ch) < 32 and ch not in "\n\t" for ch in value) or has_control_characters(value):
            raise ValueError(Message("%(column)s holds control characters", column=name))
    if not values.get("external_ref"):
        raise ValueError(Message("external_ref is empty"))
    locale = values.get("locale") or "fr"
    if locale not in LOCALES:
        raise ValueError(Message("locale must be fr, nl or en, not %(value)r", value=locale))
    customer = values.get("customer", "yes").lower()
    if customer not in TRUE_WORDS | FALSE_WORDS:
        raise ValueError(Message("customer must be yes or no, not %(value)r", value=customer))
    consents = {}
    for code in channel_codes:
        status = values.get(CONSENT_PREFIX + code, "")
        if status:
            if status not in IMPORTABLE_STATUSES:
                raise ValueError(Message("%(column)s must be one of %(allowed)s, not %(value)r",
                                         column=CONSENT_PREFIX + code,
                                         allowed=", ".join(sorted(IMPORTABLE_STATUSES)), value=status))
            consents[code] = status
    basis = values.get("basis") or Basis.CONSENT
    if basis not in {str(b) for b in Basis}:
        raise ValueError(Message("basis must be consent, soft_opt_in or legitimate_interest, not %(value)r",
                                 value=basis))
    if consents and not values.get("evidence"):
        raise ValueError(Message("evidence is required when consent columns are given"))
    return ContactRow(
        line=line,
        external_ref=values["external_ref"],
        email=normalise_email(values["email"]) if values.get("email") else None,
        phone=normalise_phone(values["phone"], phone_region(locale, current_app.config["JURISDICTION"])) if values.get("phone") else None,
        name=values.get("name") or None,
        locale=locale,
        postal_address=values.get("postal_address") or None,
        is_customer=customer in TRUE_WORDS,
        consents=consents,
        basis=basis,
        evidence=values.get("evidence") or None,
        collected_at=_parse_time(values.get("collected_at")),
    )


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(Message("collected_at is not an ISO 8601 date or time: %(value)r", value=value)) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    if moment > utcnow():
        raise ValueError(Message("collected_at is in the future: %(value)r", value=value))
    return moment


def import_contacts(
    session: Session, stream: IO[str], *, actor: Actor, progress: Callable[[int], None] | None = None,
    chunk: int = 500,
) -> ImportReport:
    """Import the contacts of ``stream``; flushes, never commits."""
    _take_turns(session)
    channels = {c.code: c for c in session.scalars(select(Channel).where(Channel.active.is_(True)))}
    rows, errors = read_rows(stream, set(channels))
    report = ImportReport(rows=len(rows) + len(errors), errors=errors)
    for start in range(0, len(rows), chunk):
        batch = rows[start:start + chunk]
        _import_batch(session, batch, channels, report, actor)
        if progress:
            progress(len(batch))
    report.errors.sort()
    return report


def _take_turns(session: Session) -> None:
    """Imports take turns (PostgreSQL: a transaction-scoped advisory lock; SQLite serialises writers).

    Each chunk locks its subjects in id order, and holds them to the end of the
    import's one transaction: two imports meeting the same contacts in other
    chunks would wait on each other in a cycle, and PostgreSQL would abort one.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": "contact-import"})


def _import_batch(session, batch: list[ContactRow], channels, report: ImportReport, actor: Actor) -> None:
    """Import one chunk: its new subjects added, then every change recorded through ``ledger.bulk.record_many``.

    A new contact gets two submissions, as ``create_subject`` then
    ``record_change`` would record them: its starting states, then the file's.
    Whether a known contact's row changes anything is the ledger's answer
    (a receipt or none); a row the ledger refuses (``RestrictedChannel``) is
    reported, and the other rows go on.
    """
    by_ref = {s.external_ref: s for s in session.scalars(
        select(Subject).where(Subject.external_ref.in_([r.external_ref for r in batch])))}
    emails = [r.email for r in batch if r.email]
    email_owner = dict(session.execute(
        select(Subject.email, Subject.external_ref).where(Subject.email.in_(emails))).all()) if emails else {}
    suppressed = suppressed_among(session, [value for r in batch for value in (r.email, r.phone) if value])
    held = current_statuses_of(session, [s.id for s in by_ref.values()])
    submissions: list[Submission] = []
    known: dict[int, ContactRow] = {}  # id() of a known contact's submission -> its row
    for row in batch:
        subject = by_ref.get(row.external_ref)
        # The ledger's own rule, asked before the row adds a contact: the row is refused whole.
        sharing = sorted(code for code, status in row.consents.items()
                         if shares_without_consent(channels[code], status, row.basis))
        if sharing:
            report.errors.append((row.line, Message(SHARING, channels=", ".join(sharing), basis=row.basis)))
            continue
        ungrounded = _without_ground(row, channels)
        if ungrounded:
            report.errors.append((row.line, Message(UNGROUNDED, channels=", ".join(ungrounded), basis=row.basis)))
            continue
        if row.email and row.email in email_owner and email_owner[row.email] != row.external_ref:
            report.errors.append((row.line, Message("this e-mail address belongs to another contact")))
            continue
        # A new contact, or a known one given an address or number it does not have: not on the list.
        listed = newly_suppressed({"email": row.email, "phone": row.phone}, suppressed, subject)
        if listed is not None:
            report.errors.append((row.line, Message(_SUPPRESSED[listed])))
            continue
        if subject is None:
            subject = add_subject(
                session, email=row.email, name=row.name, locale=row.locale, is_customer=row.is_customer,
                phone=row.phone, postal_address=row.postal_address, external_ref=row.external_ref,
            )
            report.created += 1
            submissions.append(default_submission(subject, channels.values(), actor=actor))
            if row.consents:
                submissions.append(_submission(subject, row, row.consents, actor))
            continue
        applicable = _newer_than_center(held[subject.id], row, channels, report)
        if not applicable:
            report.unchanged += 1
            continue
        submission = _submission(subject, row, applicable, actor)
        known[id(submission)] = row
        submissions.append(submission)

    def each(submission: Submission, receipt) -> None:
        if id(submission) in known:
            if receipt is None:
                report.unchanged += 1
            else:
                report.changed += 1

    def refused(submission: Submission, refusal: LedgerError) -> None:
        if id(submission) not in known or not isinstance(refusal, (RestrictedChannel, ErasedSubject)):
            raise refusal
        # Refused before anything of it is written: the other rows go on.
        report.errors.append((known[id(submission)].line, _message_of(refusal)))

    record_many(session, submissions, chunk=len(submissions) or 1, each=each, refused=refused)


def _without_ground(row: ContactRow, channels) -> list[str]:
    """The channels a row grants on a basis that cannot hold for them: the soft opt-in for someone
    who is not a customer, legitimate interest for e-mail or SMS (ePrivacy art. 13)."""
    granted = [code for code, status in row.consents.items() if status == Status.GRANTED]
    if row.basis == Basis.SOFT_OPT_IN and not row.is_customer:
        return sorted(granted)
    if row.basis == Basis.LEGITIMATE_INTEREST:
        return sorted(code for code in granted if channels[code].medium in (Medium.EMAIL, Medium.SMS))
    return []


def _newer_than_center(states: dict, row: ContactRow, channels, report: ImportReport) -> dict:
    """For a known contact, keep only states collected after the center's current ones.

    An old CRM export must never silently undo a withdrawal made since.
    """
    applicable = {}
    for code, status in row.consents.items():
        state = states.get(channels[code].id)
        if state is None or state.status == status:
            applicable[code] = status
        elif status == Status.GRANTED and row.basis != Basis.CONSENT and state.status in OPTED_OUT:
            # A withdrawal or an objection ends the soft opt-in and legitimate interest for good
            # (GDPR art. 21(3), CPCE L34-5): only a consent the person gives again turns it back on.
            report.kept.append((row.line, Message(OPTED_OUT_KEPT, channel=code, status=state.status,
                                                  basis=row.basis)))
        elif row.collected_at and row.collected_at > state.changed_at:
            applicable[code] = status
        else:
            report.kept.append((row.line, Message("%(channel)s: the center's %(status)s is newer; kept",
                                                  channel=code, status=state.status)))
    return applicable


def _submission(subject: Subject, row: ContactRow, consents: dict, actor: Actor) -> Submission:
    evidence = {"text": row.evidence, "external_ref": row.external_ref}
    if row.collected_at:
        evidence["collected_at"] = row.collected_at.isoformat()
    return Submission(
        subject, consents, source=Source.IMPORT, actor=actor,
        basis={code: row.basis for code, status in consents.items() if status == Status.GRANTED},
        evidence=evidence,
    )


def count_lines(lines: Iterable[str]) -> int:
    return max(sum(1 for _ in lines) - 1, 0)
