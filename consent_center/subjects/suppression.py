"""The suppression list: salted hashes of e-mail addresses and phone numbers erased on request.

An erased address or number must not come back silently through an import,
the API (POST or PATCH of a subject), the customer's own space or a
newsletter sign-up. Only
HMAC-SHA256(salt, stored form) is kept (``addresses.fingerprint``: the
normalised address, or the number in E.164), never the value itself: the
list can answer "was this erased?" for a value one already has, and cannot
be read back. The salt is ``CONSENT_SUPPRESSION_SALT`` (falling back to the
secret key): it must stay the same for the life of the list.
"""
from __future__ import annotations

from collections.abc import Mapping

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from consent_center.check.channels import lists_changed
from consent_center.clock import utcnow
from consent_center.models import Subject, SuppressedAddress
from consent_center.addresses import AddressError, fingerprint, fingerprints, normalise_email, suppression_salt


def address_digest(stored: str) -> str:
    """Return the salted hash of a normalised e-mail address or an E.164 number."""
    return fingerprint(stored, suppression_salt(current_app.config))


def suppress(session: Session, stored: str, *, reason: str, taken_at=None) -> None:
    """Put ``stored`` (a normalised address or an E.164 number) on the suppression list (once).

    ``taken_at``: when the objection was made, if earlier (its period runs from then)."""
    digest = address_digest(stored)
    taken_at = taken_at or utcnow()
    found = session.scalars(select(SuppressedAddress).where(SuppressedAddress.digest == digest)).first()
    if found is None:
        session.add(SuppressedAddress(digest=digest, reason=reason, created_at=taken_at))
        session.flush()
        lists_changed(session)  # the cached ``erasures`` flag: after the first, checks by subject ask the list
    elif found.created_at < taken_at:
        found.created_at = taken_at  # the newer objection's period, not the older one's


def is_suppressed(session: Session, email: str | None) -> bool:
    """Whether ``email`` was erased on request (False for no or a malformed address)."""
    if not email:
        return False
    try:
        email = normalise_email(email)
    except AddressError:
        return False
    return bool(suppressed_among(session, [email]))


SUPPRESSIBLE = ("email", "phone")


def newly_suppressed(fields: Mapping[str, str | None], found: set[str], subject: Subject | None = None) -> str | None:
    """The first of ``email``, ``phone`` in ``fields`` (stored forms) that is in ``found`` and not ``subject``'s already.

    A subject keeps what it has: another person's erasure that listed a
    number they shared takes nothing from it, and saving it again is no change.
    """
    for name in SUPPRESSIBLE:
        value = fields.get(name)
        if value and value in found and (subject is None or value != getattr(subject, name)):
            return name
    return None


def suppressed_field(session: Session, fields: Mapping[str, str | None], subject: Subject | None = None) -> str | None:
    """``newly_suppressed`` of ``fields``, the list asked in one query."""
    return newly_suppressed(fields, suppressed_among(session, [fields[n] for n in SUPPRESSIBLE if fields.get(n)]),
                            subject)


def suppressed_among(session: Session, stored: list[str]) -> set[str]:
    """Which of these normalised addresses or E.164 numbers are on the list (one query)."""
    if not stored:
        return set()
    by_digest = dict(zip(fingerprints(stored, suppression_salt(current_app.config)), stored))
    found = session.scalars(select(SuppressedAddress.digest).where(SuppressedAddress.digest.in_(list(by_digest))))
    return {by_digest[d] for d in found}


def forget_fingerprints_taken_before(session: Session, limit, *, dry_run: bool = False) -> int:
    """Drop the fingerprints of erasures and objections taken before ``limit`` (their period is over)."""
    ids = list(session.scalars(select(SuppressedAddress.id).where(SuppressedAddress.created_at < limit)))
    if ids and not dry_run:
        session.execute(delete(SuppressedAddress).where(SuppressedAddress.id.in_(ids)))
    return len(ids)
