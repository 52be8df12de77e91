"""SendGrid's signed Event Webhook.

SendGrid signs the timestamp header followed by the raw body with ECDSA on
P-256 and SHA-256; the signature is base64 DER in
``X-Twilio-Email-Event-Webhook-Signature``, the moment (Unix seconds) in
``X-Twilio-Email-Event-Webhook-Timestamp``, and the verification key is
shown once signing is turned on (base64 DER SubjectPublicKeyInfo; PEM is
accepted too). A request carries a batch of events.

https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event
"""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from consent_center.inbound.mail.feedback import (BadSignature, Feedback, Kind, Malformed, Notice, diagnostic,
                                                  header, json_body, moment, text_field)

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
# A batch has at most this many events (SendGrid's are far smaller); more is refused, not read.
MAX_EVENTS = 1000
# Reasons a message was dropped that say something of the address. A drop for an address
# SendGrid keeps as a spam reporter is a complaint the center may never have heard of;
# "Unsubscribed Address" and the rest are SendGrid's own lists or the sender's errors.
DROPPED_HARD = frozenset({"Bounced Address", "Invalid"})
DROPPED_COMPLAINT = frozenset({"Spam Reporting Address"})


def load_key(text: str) -> ec.EllipticCurvePublicKey:
    """Return the verification key SendGrid shows (base64 DER or PEM); ValueError when it is not a P-256 key."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode("ascii"))
    else:
        try:
            key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
        except binascii.Error:
            raise ValueError("not base64") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("SendGrid's verification key is an ECDSA P-256 key")
    return key


def verify(headers: Mapping[str, str], body: bytes, key: ec.EllipticCurvePublicKey) -> None:
    """Accept the request when SendGrid's signature over timestamp and body holds; else BadSignature."""
    timestamp = header(headers, TIMESTAMP_HEADER)
    try:
        signature = base64.b64decode(header(headers, SIGNATURE_HEADER), validate=True)
    except binascii.Error:
        signature = b""
    if not timestamp or not signature:
        raise BadSignature("the signature or its timestamp is missing")
    try:
        key.verify(signature, timestamp.encode("utf-8") + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        raise BadSignature("the signature does not hold") from None


def parse(headers: Mapping[str, str], body: bytes) -> list[Notice]:
    """Read a verified batch into a Notice per event, keyed by its sg_event_id; Malformed when it is not SendGrid's."""
    sent_at = moment(header(headers, TIMESTAMP_HEADER), what="the timestamp header")
    events = json_body(body)
    if not isinstance(events, list) or not events or len(events) > MAX_EVENTS:
        raise Malformed(f"SendGrid sends a JSON array of 1 to {MAX_EVENTS} events")
    return [_notice(event, sent_at) for event in events]


def _notice(event: object, sent_at) -> Notice:
    if not isinstance(event, dict):
        raise Malformed("an event is not an object")
    event_id = text_field(event, "sg_event_id")
    raw = json.dumps(event, ensure_ascii=False)
    kind = _kind(event)
    if kind is None:
        return Notice(key=event_id, sent_at=sent_at, ignored=(text_field(event, "event"),), raw=raw)
    item = Feedback(kind, text_field(event, "email"), moment(event.get("timestamp"), what="timestamp"),
                    message_id=text_field(event, "sg_message_id", required=False), event_id=event_id,
                    diagnostic=diagnostic(event.get("event"), event.get("type"), event.get("status"),
                                          event.get("bounce_classification"), event.get("reason")))
    return Notice(key=event_id, sent_at=sent_at, items=(item,), raw=raw)


def _kind(event: dict) -> Kind | None:
    name = text_field(event, "event")
    if name == "bounce":
        # "blocked" is the receiving server refusing for now (reputation, content): soft.
        return Kind.SOFT_BOUNCE if event.get("type") == "blocked" else Kind.HARD_BOUNCE
    if name == "dropped":
        reason = event.get("reason")
        return Kind.HARD_BOUNCE if reason in DROPPED_HARD else Kind.COMPLAINT if reason in DROPPED_COMPLAINT else None
    if name == "spamreport":
        return Kind.COMPLAINT
    if name == "delivered":
        return Kind.DELIVERY
    # "deferred" is SendGrid still trying (greylisting, a full mailbox for an hour): counting
    # it as a soft bounce would mark an address undeliverable before its delivery arrives.
    # Opens, clicks, unsubscribes and the rest: accepted, not acted on.
    return None
