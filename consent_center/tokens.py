"""Signed tokens, one signer per purpose, each with its own salt and age.

``CONSENT_SECRET_KEY`` signs; ``CONSENT_SECRET_KEY_FALLBACKS`` still verify,
so keys can rotate without breaking links in mail already sent. Ages are
measured on the one clock (``clock.utcnow``), so freezegun governs them.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from consent_center.clock import utcnow

if TYPE_CHECKING:
    from consent_center.models import Account


@dataclass(frozen=True)
class Purpose:
    salt: str
    max_age_setting: str
    default_max_age: timedelta


PURPOSES = {
    # Links in old mail must keep working: two years unless configured
    # (CONSENT_UNSUBSCRIBE_TOKEN_DAYS and its siblings, read in config.py).
    "unsubscribe": Purpose("consent-center/unsubscribe", "UNSUBSCRIBE_TOKEN_MAX_AGE", timedelta(days=730)),
    "double_opt_in": Purpose("consent-center/double-opt-in", "DOUBLE_OPT_IN_TOKEN_MAX_AGE", timedelta(days=7)),
    "invitation": Purpose("consent-center/invitation", "INVITATION_TOKEN_MAX_AGE", timedelta(days=14)),
    "password_reset": Purpose("consent-center/password-reset", "PASSWORD_RESET_TOKEN_MAX_AGE", timedelta(hours=2)),
    "email_change": Purpose("consent-center/email-change", "EMAIL_CHANGE_TOKEN_MAX_AGE", timedelta(days=2)),
    "manage_link": Purpose("consent-center/manage-link", "MANAGE_LINK_TOKEN_MAX_AGE", timedelta(days=2)),
    # "Still interested?" before a retention period ends: the question itself says until when it
    # may be answered (rights/repermission.py); the link outlives any notice period.
    "repermission": Purpose("consent-center/repermission", "REPERMISSION_TOKEN_MAX_AGE", timedelta(days=400)),
    # The /u/ page's broader buttons: a nonce proves the page was seen, lately.
    "unsubscribe_all": Purpose("consent-center/unsubscribe-all", "UNSUBSCRIBE_PAGE_NONCE_MAX_AGE",
                               timedelta(minutes=15)),
    "unsubscribe_undo": Purpose("consent-center/unsubscribe-undo", "UNSUBSCRIBE_PAGE_NONCE_MAX_AGE",
                                timedelta(minutes=15)),
    # What the page that answered the person's own click offers next: the new
    # receipt's download, and the optional question why (each binds the receipt).
    "unsubscribe_receipt": Purpose("consent-center/unsubscribe-receipt", "UNSUBSCRIBE_PAGE_NONCE_MAX_AGE",
                                   timedelta(minutes=15)),
    "unsubscribe_reason": Purpose("consent-center/unsubscribe-reason", "UNSUBSCRIBE_PAGE_NONCE_MAX_AGE",
                                  timedelta(minutes=15)),
}


class TokenError(ValueError):
    """A token that is forged, tampered with, expired or for another purpose."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ClockSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(utcnow().timestamp())


def _keys() -> list:
    """The secret keys, oldest first: the last one signs, all of them verify."""
    config = current_app.config
    return [*config.get("SECRET_KEY_FALLBACKS", []), config["SECRET_KEY"]]


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    # itsdangerous signs with the last key and verifies with all of them.
    return URLSafeTimedSerializer(_keys(), salt=PURPOSES[purpose].salt, signer=ClockSigner,
                                  signer_kwargs={"digest_method": hashlib.sha256})


def max_age(purpose: str) -> timedelta:
    spec = PURPOSES[purpose]
    return current_app.config.get(spec.max_age_setting) or spec.default_max_age


def sign(purpose: str, payload) -> str:
    """Return a URL-safe token carrying ``payload`` for ``purpose``."""
    return _serializer(purpose).dumps(payload)


def load(purpose: str, token: str):
    """Return the payload of a valid ``purpose`` token, else raise TokenError."""
    try:
        return _serializer(purpose).loads(token, max_age=int(max_age(purpose).total_seconds()))
    except SignatureExpired:
        raise TokenError("expired") from None
    except BadSignature:
        raise TokenError("invalid") from None


def unsubscribe_token(subject_public_id: str, channel_code: str) -> str:
    return sign("unsubscribe", {"s": subject_public_id, "c": channel_code})


def read_unsubscribe_token(token: str) -> tuple[str, str]:
    """Return (subject public id, channel code) of a valid unsubscribe token."""
    payload = load("unsubscribe", token)
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), str) or not isinstance(payload.get("c"), str):
        raise TokenError("invalid")
    return payload["s"], payload["c"]


PAGE_NONCE_PURPOSES = ("unsubscribe_all", "unsubscribe_undo", "unsubscribe_receipt", "unsubscribe_reason")


def _link_digest(link_token: str) -> str:
    return hashlib.sha256(link_token.encode("utf-8")).hexdigest()[:32]


def page_nonce(purpose: str, link_token: str, names: list[str]) -> str:
    """Return a short-lived nonce for one /u/ page button, bound to its link and to what it may touch."""
    if purpose not in PAGE_NONCE_PURPOSES:
        raise ValueError(f"{purpose} is not a page nonce purpose")
    return sign(purpose, {"l": _link_digest(link_token), "n": sorted(names)})


def read_page_nonce(purpose: str, nonce: str, link_token: str) -> list[str]:
    """Return the names a valid nonce of ``purpose`` binds, if it was made for this link; else raise TokenError."""
    if purpose not in PAGE_NONCE_PURPOSES:
        raise ValueError(f"{purpose} is not a page nonce purpose")
    payload = load(purpose, nonce)
    if not isinstance(payload, dict) or not isinstance(payload.get("l"), str) \
            or not isinstance(payload.get("n"), list) or not all(isinstance(n, str) for n in payload["n"]):
        raise TokenError("invalid")
    if not hmac.compare_digest(payload["l"], _link_digest(link_token)):
        raise TokenError("invalid")
    return payload["n"]


# Tokens that act on an account die once used: they carry a fingerprint of
# what using them changes (the password hash and its date), and the e-mail
# address they were sent to, so setting a password, or a new address,
# retires every such token issued before.
ACCOUNT_PURPOSES = ("invitation", "password_reset")


def account_fingerprint(account: Account) -> str:
    """Return a short digest of the account state a used token must no longer match."""
    changed = account.password_changed_at.isoformat() if account.password_changed_at else ""
    material = "\x1f".join([str(account.id), account.email, account.password_hash or "", changed])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


def account_token(purpose: str, account: Account) -> str:
    """Return an invitation or password-reset token for ``account``."""
    if purpose not in ACCOUNT_PURPOSES:
        raise ValueError(f"{purpose} is not an account token purpose")
    return sign(purpose, {"a": account.id, "f": account_fingerprint(account)})


def read_account_token(purpose: str, token: str) -> tuple[int, str]:
    """Return (account id, fingerprint) of a valid account token, unchecked against the account."""
    payload = load(purpose, token)
    if not isinstance(payload, dict) or not isinstance(payload.get("a"), int) \
            or not isinstance(payload.get("f"), str):
        raise TokenError("invalid")
    return payload["a"], payload["f"]


def check_account_token(account: Account | None, fingerprint: str) -> None:
    """Raise TokenError("used") unless ``account`` still matches the token's fingerprint."""
    if account is None or not account.active or \
            not hmac.compare_digest(account_fingerprint(account), fingerprint):
        raise TokenError("used")


# A subject token (the manage link) names the address it was sent to only
# as a keyed digest: the payload is readable base64, and a link in a
# forwarded e-mail or a log must not spell anyone's address. The digest
# still makes the link die once the address changes.
def _address_digest(key: str | bytes, purpose: str, subject_public_id: str, email: str) -> str:
    key = key.encode("utf-8") if isinstance(key, str) else key
    material = "\x1f".join([PURPOSES[purpose].salt, subject_public_id, email]).encode("utf-8")
    return hmac.new(key, material, hashlib.sha256).hexdigest()[:32]


def subject_token(purpose: str, subject_public_id: str, email: str) -> str:
    """Return a token naming a subject at an address (manage link), the address as a keyed digest."""
    return sign(purpose, {"s": subject_public_id,
                          "a": _address_digest(_keys()[-1], purpose, subject_public_id, email)})


def read_subject_token(purpose: str, token: str) -> tuple[str, str]:
    """Return (subject public id, address digest) of a valid subject token, unchecked against the subject."""
    payload = load(purpose, token)
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), str) \
            or not isinstance(payload.get("a"), str):
        raise TokenError("invalid")
    return payload["s"], payload["a"]


def check_subject_address(purpose: str, subject_public_id: str, digest: str, email: str | None) -> None:
    """Raise TokenError("used") unless ``email`` is still the address the token was made for."""
    if email is None or not any(
            hmac.compare_digest(_address_digest(key, purpose, subject_public_id, email), digest)
            for key in _keys()):
        raise TokenError("used")


def email_change_token(subject_public_id: str, new_email: str, old_email: str | None) -> str:
    """The token of an e-mail change link: it names the old address too, so it dies once used."""
    return sign("email_change", {"s": subject_public_id, "e": new_email, "o": old_email})
