"""Subjects from a CRM: created and updated with validated, normalised fields.

E-mail addresses and phone numbers are normalised as everywhere (``addresses``):
a national phone number is read in ``country``, else in ``addresses.phone_region``.
Creating goes through ``subjects.create_subject``, which records each
channel's starting state in the ledger. An address or number on the
suppression list is refused on creation and on change alike; an erased
subject takes no change at all.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consent_center.ledger import Actor
from consent_center.models import Subject
from consent_center.subjects.suppression import suppressed_field
from consent_center.addresses import AddressError, normalise_email, normalise_phone, phone_region
from consent_center.subjects.service import create_subject

EDITABLE = ("email", "phone", "name", "postal_address", "locale", "external_ref", "is_customer")


class SubjectFieldError(ValueError):
    """A field of the subject is not valid; nothing was written."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class SubjectConflict(SubjectFieldError):
    """Another subject already has this e-mail address or external reference, or it was erased."""


class SubjectErased(ValueError):
    """The subject was erased at its owner's request: it takes no change."""

    def __init__(self, public_id: str) -> None:
        super().__init__(f"Subject {public_id} was erased at its owner's request; it takes no change.")


_SUPPRESSED = {
    "email": "This e-mail address was erased at its owner's request (suppression list); it cannot be added again.",
    "phone": "This phone number was erased at its owner's request (suppression list); it cannot be added again.",
}


def _refuse_suppressed(session: Session, data: dict, subject: Subject | None = None) -> None:
    """Refuse (``SubjectConflict``) an e-mail address or phone number on the suppression list, new to ``subject``."""
    field = suppressed_field(session, data, subject)
    if field is not None:
        raise SubjectConflict(field, _SUPPRESSED[field])


def _clean(data: dict, locale: str) -> dict:
    """Normalise the given fields; ``country`` only says how to read the phone."""
    data = dict(data)
    country = data.pop("country", None) or phone_region(locale, current_app.config["JURISDICTION"])
    if data.get("email") is not None:
        try:
            data["email"] = normalise_email(data["email"])
        except AddressError as exc:
            raise SubjectFieldError("email", str(exc)) from None
    if data.get("phone") is not None:
        try:
            data["phone"] = normalise_phone(data["phone"], country)
        except AddressError as exc:
            raise SubjectFieldError("phone", f"{str(exc)[0].upper()}{str(exc)[1:]}.") from None
    for name in ("name", "postal_address", "external_ref"):
        if isinstance(data.get(name), str):
            data[name] = data[name].strip() or None
    return data


def _refuse_duplicates(session: Session, data: dict, subject_id: int | None = None) -> None:
    for name in ("email", "external_ref"):
        value = data.get(name)
        if value is None:
            continue
        column = getattr(Subject, name)
        stmt = select(Subject.public_id).where(column == value)
        if subject_id is not None:
            stmt = stmt.where(Subject.id != subject_id)
        other = session.scalars(stmt).first()
        if other is not None:
            label = "e-mail address" if name == "email" else "external reference"
            raise SubjectConflict(name, f"Subject {other} already has this {label}.")


def create_from_crm(session: Session, data: dict, *, actor: Actor, trace: dict | None = None) -> Subject:
    """Create a subject from loaded API fields; its channels start at their defaults."""
    locale = data.get("locale") or "fr"
    data = _clean(data, locale)
    if not data.get("email") and not data.get("phone") and not data.get("postal_address"):
        raise SubjectFieldError("email", "Give at least an e-mail address, a phone number or a postal address.")
    _refuse_duplicates(session, data)
    _refuse_suppressed(session, data)
    try:
        return create_subject(session, actor=actor, trace=trace, **data)
    except IntegrityError:
        # Another request took the address or reference between our check and the insert.
        raise SubjectConflict("email", "A subject with this e-mail address or external reference "
                                       "was created at the same time.") from None


def update_from_crm(session: Session, subject: Subject, data: dict) -> Subject:
    """Change the given fields of ``subject`` (null clears a field); never of an erased subject."""
    if subject.erased_at is not None:
        raise SubjectErased(subject.public_id)
    locale = data.get("locale") or subject.locale
    data = _clean(data, locale)
    if data.get("locale") is None:
        data.pop("locale", None)
    if data.get("is_customer") is None:
        data.pop("is_customer", None)
    _refuse_duplicates(session, data, subject.id)
    _refuse_suppressed(session, data, subject)
    for name in EDITABLE:
        if name in data:
            setattr(subject, name, data[name])
    if not subject.email and not subject.phone and not subject.postal_address:
        raise SubjectFieldError("email", "A subject keeps at least an e-mail address, a phone number "
                                         "or a postal address.")
    try:
        session.flush()
    except IntegrityError:
        raise SubjectConflict("email", "A subject with this e-mail address or external reference "
                                       "was saved at the same time.") from None
    return subject


_BY_PUBLIC_ID = select(Subject).where(Subject.public_id == bindparam("public_id"))


def find_subject(session: Session, public_id: str) -> Subject | None:
    return session.scalars(_BY_PUBLIC_ID, {"public_id": public_id}).first()
