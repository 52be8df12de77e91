"""Mailgun's webhooks (the JSON ones: ``signature`` and ``event-data``).

Mailgun signs its timestamp and a random token, HMAC-SHA256 with the
webhook signing key, hex; the event itself is not covered by the signature.
A token is therefore good once: a captured request replayed with other
event data carries a token already seen. The pipeline keys idempotency on
the token, and the replay window on the timestamp.

https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks
https://documentation.mailgun.com/docs/mailgun/user-manual/events/
"""
from __future__ import annotations

import hashlib
import hmac

from consent_center.inbound.mail.feedback import (BadSignature, Feedback, Kind, Malformed, Notice, diagnostic,
                                                  json_body, moment, text_field)

# A token is 50 hex characters; anything much longer is not Mailgun's.
TOKEN_MAX = 128
# Failures Mailgun did not even try, because the address is on one of its own lists.
SUPPRESSED_COMPLAINT = "suppress-complaint"
SUPPRESSED_UNSUBSCRIBE = "suppress-unsubscribe"


def read(body: bytes) -> tuple[dict, dict]:
    """Return the request's ``signature`` and ``event-data`` objects; Malformed when absent."""
    payload = json_body(body)
    signature = payload.get("signature") if isinstance(payload, dict) else None
    event = payload.get("event-data") if isinstance(payload, dict) else None
    if not isinstance(signature, dict) or not isinstance(event, dict):
        raise Malformed("a Mailgun webhook sends signature and event-data objects")
    return signature, event


def verify(signature: dict, signing_key: str) -> None:
    """Accept when the HMAC of timestamp and token under the signing key holds; else BadSignature."""
    timestamp = signature.get("timestamp")
    token = signature.get("token")
    offered = signature.get("signature")
    if not all(isinstance(value, str) and value for value in (timestamp, token, offered)) or len(token) > TOKEN_MAX:
        raise BadSignature("the signature, its timestamp or its token is missing")
    expected = hmac.new(signing_key.encode("utf-8"), (timestamp + token).encode("utf-8"), hashlib.sha256).hexdigest()
    if not signing_key or not hmac.compare_digest(expected.encode("ascii"), offered.encode("utf-8")):
        raise BadSignature("the signature does not hold")


def parse(signature: dict, event: dict) -> Notice:
    """Read a verified event into a Notice keyed by its token."""
    name = text_field(event, "event")
    sent_at = moment(signature.get("timestamp"), what="the signature's timestamp")
    key = "token:" + text_field(signature, "token")
    kind = _kind(name, event)
    if kind is None:
        return Notice(key=key, sent_at=sent_at, ignored=(name,))
    status = event.get("delivery-status") if isinstance(event.get("delivery-status"), dict) else {}
    headers = event.get("message", {}).get("headers", {}) if isinstance(event.get("message"), dict) else {}
    item = Feedback(kind, text_field(event, "recipient"), moment(event.get("timestamp"), what="timestamp"),
                    message_id=text_field(headers, "message-id", required=False),
                    event_id=text_field(event, "id", required=False),
                    diagnostic=diagnostic(name, event.get("severity"), event.get("reason"), status.get("code"),
                                          status.get("message") or status.get("description")))
    return Notice(key=key, sent_at=sent_at, items=(item,))


def _kind(name: str, event: dict) -> Kind | None:
    if name == "complained":
        return Kind.COMPLAINT
    if name == "delivered":
        return Kind.DELIVERY
    if name != "failed":
        return None
    reason = event.get("reason")
    if reason == SUPPRESSED_COMPLAINT:
        return Kind.COMPLAINT
    if reason == SUPPRESSED_UNSUBSCRIBE:
        return None
    if event.get("severity") == "permanent":
        # "old": Mailgun gave up after temporary failures, a soft bounce; any other, hard.
        return Kind.SOFT_BOUNCE if reason == "old" else Kind.HARD_BOUNCE
    status = event.get("delivery-status")
    if isinstance(status, dict) and status.get("retry-seconds"):
        # Mailgun tries again (greylisting, a full mailbox for an hour): counted as a soft
        # bounce, a message's retries would mark an address undeliverable before it arrives.
        return None
    return Kind.SOFT_BOUNCE
