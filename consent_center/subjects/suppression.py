"""The suppression list: salted hashes of e-mail addresses erased on request.

An erased address must not come back silently through an import, the API
or a newsletter sign-up. Only HMAC-SHA256(salt, normalised address) is
kept, never the address: the list can answer "was this address erased?"
for an address one already has, and cannot be read back. The salt is
``CONSENT_SUPPRESSION_SALT`` (falling back to the secret key): it must stay
the same for the life of the list.
"""
from __future__ import annotations

import hashlib
import hmac

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.models import SuppressedAddress
from consent_center.addresses import AddressError, normalise_email


def address_digest(email: str) -> str:
    """Return the salted hash of a normalised e-mail address."""
    salt = current_app.config.get("SUPPRESSION_SALT") or current_app.config["SECRET_KEY"]
    return hmac.new(salt.encode("utf-8"), email.encode("utf-8"), hashlib.sha256).hexdigest()


def suppress(session: Session, email: str, *, reason: str) -> None:
    """Put ``email`` on the suppression list (once)."""
    digest = address_digest(email)
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
    digest = address_digest(email)
    return session.scalars(select(SuppressedAddress.id).where(SuppressedAddress.digest == digest)).first() is not None


def suppressed_among(session: Session, emails: list[str]) -> set[str]:
    """Which of these normalised addresses are on the list (one query)."""
    if not emails:
        return set()
    by_digest = {address_digest(email): email for email in emails}
    found = session.scalars(select(SuppressedAddress.digest).where(SuppressedAddress.digest.in_(list(by_digest))))
    return {by_digest[d] for d in found}
