"""Standard Webhooks (standardwebhooks.com) on the receiving side: the secret, the signature check.

The signature is ``v1,`` + base64 of HMAC-SHA256(secret, ``id.timestamp.body``),
keyed with the base64-decoded part of a ``whsec_…`` secret; a header may
carry several, space-separated (a sender rotating its secret). The
timestamp (seconds) must be within the replay window of now.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from datetime import datetime, timezone

from consent_center.inbound.registry import HookRequest, SecretError, Unauthenticated, same, within_window

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def standard_secret(given: str | None) -> str:
    """The stored secret: ``given`` when it is a usable ``whsec_`` secret, else a new one."""
    if given is None:
        return new_secret()
    given = given.strip()
    if not given.startswith(PREFIX) or len(_key(given)) < 24:
        raise SecretError("a Standard Webhooks secret is whsec_ followed by base64 of at least 24 bytes")
    return given


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except (binascii.Error, ValueError):
        return b""


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,…`` signature of a message (the docs' example and the tests' independent check use it too)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def verify_standard(secret: str, request: HookRequest) -> str:
    """Check the three ``webhook-*`` headers against ``secret``; return the ``webhook-id``, else Unauthenticated."""
    message_id = request.headers.get("webhook-id", "")
    timestamp = request.headers.get("webhook-timestamp", "")
    given = request.headers.get("webhook-signature", "")
    if not (message_id and timestamp and given):
        raise Unauthenticated("unsigned: the webhook-id, webhook-timestamp and webhook-signature headers are required")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise Unauthenticated("webhook-timestamp is not a number of seconds")
    within_window(datetime.fromtimestamp(int(timestamp), timezone.utc), request)
    expected = sign(secret, message_id, int(timestamp), request.body).removeprefix("v1,")
    for candidate in given.split(" ")[:10]:
        version, _, value = candidate.partition(",")
        if version == "v1" and same(expected, value):
            return message_id
    raise Unauthenticated("the signature does not match: signed with another secret, or the body was changed")
