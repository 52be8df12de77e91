"""Subjects: creating and normalising the people the company talks to."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.addresses import AddressError, normalise_email, normalise_phone, phone_region
from consent_center.ledger import Actor, record_defaults
from consent_center.models import Subject


class SubjectError(ValueError):
    """Bad subject data; nothing was written."""


def find_by_email(session: Session, address: str) -> Subject | None:
    try:
        email = normalise_email(address)
    except AddressError:
        return None
    return session.scalars(select(Subject).where(Subject.email == email)).first()


def create_subject(
    session: Session, *, actor: Actor, email: str | None = None, name: str | None = None,
    locale: str = "fr", is_customer: bool = False, trace: dict | None = None, **fields,
) -> Subject:
    """Create a subject and record every channel's starting state.

    The e-mail address and phone number are stored normalised whoever calls
    (a national number read in ``phone_region``), so that the checks find them.
    """
    try:
        email = normalise_email(email) if email else None
        if fields.get("phone"):
            fields["phone"] = normalise_phone(fields["phone"], phone_region(locale, current_app.config["JURISDICTION"]))
    except AddressError as exc:
        raise SubjectError(str(exc)) from exc
    if email and session.scalars(select(Subject.id).where(Subject.email == email)).first():
        raise SubjectError("a subject with this e-mail address already exists")
    subject = add_subject(session, email=email, name=name, locale=locale, is_customer=is_customer, **fields)
    session.flush()
    record_defaults(session, subject, actor=actor, trace=trace)
    return subject


def add_subject(session: Session, *, email: str | None, name: str | None, locale: str, is_customer: bool,
                **fields) -> Subject:
    """Add a subject whose e-mail address is stored form and free; its starting states are the caller's to record.

    ``create_subject`` records them at once; the import records many in bulk
    (``ledger.bulk.default_submission``), having checked its addresses in one query.
    """
    subject = Subject(email=email, name=name, locale=locale, is_customer=is_customer, **fields)
    session.add(subject)
    return subject
