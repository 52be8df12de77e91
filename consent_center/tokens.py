"""Signed tokens, one signer per purpose, each with its own salt and age.

``CONSENT_SECRET_KEY`` signs; ``CONSENT_SECRET_KEY_FALLBACKS`` still verify,
so keys can rotate without breaking links in mail already sent. Ages are
measured on the one clock (``clock.utcnow``), so freezegun governs them.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from .clock import utcnow


@dataclass(frozen=True)
class Purpose:
    salt: str
    max_age_setting: str
    default_max_age: timedelta


PURPOSES = {
    # Links in old mail must keep working: two years unless configured.
    "unsubscribe": Purpose("consent-center/unsubscribe", "UNSUBSCRIBE_TOKEN_MAX_AGE", timedelta(days=730)),
    "double_opt_in": Purpose("consent-center/double-opt-in", "DOUBLE_OPT_IN_TOKEN_MAX_AGE", timedelta(days=7)),
    "invitation": Purpose("consent-center/invitation", "INVITATION_TOKEN_MAX_AGE", timedelta(days=14)),
    "password_reset": Purpose("consent-center/password-reset", "PASSWORD_RESET_TOKEN_MAX_AGE", timedelta(hours=2)),
    "email_change": Purpose("consent-center/email-change", "EMAIL_CHANGE_TOKEN_MAX_AGE", timedelta(days=2)),
    "manage_link": Purpose("consent-center/manage-link", "MANAGE_LINK_TOKEN_MAX_AGE", timedelta(days=2)),
}


class TokenError(ValueError):
    """A token that is forged, tampered with, expired or for another purpose."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ClockSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(utcnow().timestamp())


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    config = current_app.config
    # itsdangerous signs with the last key and verifies with all of them.
    keys = [*config.get("SECRET_KEY_FALLBACKS", []), config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=PURPOSES[purpose].salt, signer=ClockSigner,
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
