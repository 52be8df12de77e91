"""The suppression list: salted hashes of e-mail addresses and phone numbers erased on request.

An erased address or number must not come back silently through an import,
the API (POST or PATCH of a subject) or a newsletter sign-up. Only
HMAC-SHA256(salt, stored form) is kept (``addresses.fingerprint``: the
normalised address, or the number in E.164), never the value itself: the
list can answer "was this erased?" for a value one already has, and cannot
be read back. The salt is ``CONSENT_SUPPRESSION_SALT`` (falling back to the
secret key): it must stay the same for the life of the list.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.models import SuppressedAddress
from consent_center.addresses import AddressError, fingerprint, fingerprints, normalise_email, suppression_salt


def address_digest(stored: str) -> str:
    """Return the salted hash of a normalised e-mail address or an E.164 number."""
    return fingerprint(stored, suppression_salt(current_app.config))


def suppress(session: Session, stored: str, *, reason: str) -> None:
    """Put ``stored`` (a normalised address or an E.164 number) on the suppression list (once)."""
    digest = address_digest(stored)
    if session.scalars(select(SuppressedAddress.id).where(SuppressedAddress.digest == digest)).first() is None:
        session.add(SuppressedAddress(digest=digest, reason=reason))
        session.flush()


def is_suppressed(session: Session, email: str | None) -> bool:
    """Whether ``email`` was erased on request (False for no or a malformed address)."""
    if not email:
        return False
    try:
        email = normalise_email(email)
    except AddressError:
        return False
    return bool(suppressed_among(session, [email]))


def suppressed_field(session: Session, fields: dict) -> str | None:
    """The first of ``email``, ``phone`` in ``fields`` (stored forms) that is on the list, else None (one query)."""
    given = {name: fields[name] for name in ("email", "phone") if fields.get(name)}
    found = suppressed_among(session, list(given.values()))
    return next((name for name, value in given.items() if value in found), None)


def suppressed_among(session: Session, stored: list[str]) -> set[str]:
    """Which of these normalised addresses or E.164 numbers are on the list (one query)."""
    if not stored:
        return set()
    by_digest = dict(zip(fingerprints(stored, suppression_salt(current_app.config)), stored))
    found = session.scalars(select(SuppressedAddress.digest).where(SuppressedAddress.digest.in_(list(by_digest))))
    return {by_digest[d] for d in found}
