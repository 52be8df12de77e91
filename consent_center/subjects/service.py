"""Subjects: creating and normalising the people the company talks to."""
from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.ledger import Actor, record_defaults
from consent_center.models import Subject


class SubjectError(ValueError):
    """Bad subject data; nothing was written."""


def normalise_email(address: str) -> str:
    """Return the normalised form of ``address`` or raise SubjectError."""
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise SubjectError(str(exc)) from exc


LOCALE_REGIONS = {"fr": "FR", "nl": "NL", "en": "GB"}


def normalise_phone(raw: str, region: str | None = None) -> str:
    """Return ``raw`` in E.164 (+33612345678) or raise SubjectError."""
    try:
        number = phonenumbers.parse(raw.strip(), (region or "FR").upper())
    except phonenumbers.NumberParseException as exc:
        raise SubjectError(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_valid_number(number):
        raise SubjectError(f"not a valid phone number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def find_by_email(session: Session, address: str) -> Subject | None:
    try:
        email = normalise_email(address)
    except SubjectError:
        return None
    return session.scalars(select(Subject).where(Subject.email == email)).first()


def create_subject(
    session: Session, *, actor: Actor, email: str | None = None, name: str | None = None,
    locale: str = "fr", is_customer: bool = False, trace: dict | None = None, **fields,
) -> Subject:
    """Create a subject and record every channel's starting state."""
    email = normalise_email(email) if email else None
    if email and session.scalars(select(Subject.id).where(Subject.email == email)).first():
        raise SubjectError("a subject with this e-mail address already exists")
    subject = Subject(email=email, name=name, locale=locale, is_customer=is_customer, **fields)
    session.add(subject)
    session.flush()
    record_defaults(session, subject, actor=actor, trace=trace)
    return subject
