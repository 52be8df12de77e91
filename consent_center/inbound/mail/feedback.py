"""What every e-mail provider's hook is read into: feedback items, and why a request is refused.

A provider module checks that a request is its provider's (a signature, a
secret) and reads its payload into a ``Notice``: the key that makes it
idempotent, the signed moment the replay window is measured from, and the
feedback items. Nothing here touches the database: the hook's pipeline
decides what an item changes.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum

# A diagnostic is shown to staff and kept with the address's state: short, one line.
DIAGNOSTIC_MAX = 200
# Anything shaped like an address is taken out of a diagnostic ("550 <jane@example.com>
# unknown"): the address is kept where erasure finds it, never inside free text.
_ADDRESS_LIKE = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
# Where a provider that signs nothing (Postmark, a relay of ARF reports) may carry the hook's secret,
# besides the password of HTTP basic auth.
SECRET_HEADER = "X-Consent-Hook-Secret"


class Kind(StrEnum):
    HARD_BOUNCE = "hard_bounce"
    SOFT_BOUNCE = "soft_bounce"
    COMPLAINT = "complaint"
    DELIVERY = "delivery"


class Refused(Exception):
    """A request the hook does not accept; nothing of it is written."""

    status = 400


class BadSignature(Refused):
    """Not signed (or authenticated) as the hook's provider signs: 401."""

    status = 401


class Malformed(Refused):
    """Authenticated, or not yet known to be, but not a payload this provider sends: 400."""

    status = 400


@dataclass(frozen=True)
class Feedback:
    """One thing a provider says about one address."""

    kind: Kind
    address: str  # as the provider wrote it; the pipeline normalises it
    at: datetime
    message_id: str = ""  # the provider's id of the original message
    event_id: str = ""  # the provider's id of this event, when it gives one
    diagnostic: str = ""


@dataclass(frozen=True)
class Notice:
    """One event a provider reports (a request carries one, or a batch of them)."""

    key: str  # the provider's id of the event: a second one with this key changes nothing
    sent_at: datetime | None  # the moment the provider signed, for the replay window
    items: tuple[Feedback, ...] = ()
    # For the operator, never acted on (an SNS subscription's confirmation address).
    note: str = ""
    ignored: tuple[str, ...] = ()  # the events read and deliberately left alone, by name
    raw: str | None = None  # this event's own part of a batch (None: the whole request)


def diagnostic(*parts: object) -> str:
    """Return the parts as one short line of text, with anything shaped like an address taken out."""
    text = " ".join(str(part) for part in parts if part not in (None, ""))
    text = _ADDRESS_LIKE.sub("<address>", _CONTROL.sub(" ", text))
    text = " ".join(text.split())
    return text if len(text) <= DIAGNOSTIC_MAX else text[: DIAGNOSTIC_MAX - 1] + "…"


def moment(value: object, *, what: str) -> datetime:
    """Return an ISO 8601 text or a Unix time (seconds) as an aware UTC datetime; else Malformed."""
    if isinstance(value, bool):
        raise Malformed(f"{what} is not a time")
    if isinstance(value, int | float) or (isinstance(value, str) and re.fullmatch(r"\d{1,12}(\.\d+)?", value)):
        try:
            return datetime.fromtimestamp(float(value), timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise Malformed(f"{what} is not a time") from None
    if not isinstance(value, str) or "T" not in value:
        raise Malformed(f"{what} is not a time")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Malformed(f"{what} is not a time") from None
    # A provider's moment without an offset is UTC (they all write UTC).
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def json_body(body: bytes) -> object:
    """Return the JSON of a request body; else Malformed."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise Malformed("the body is not JSON") from None


def text_field(mapping: object, name: str, *, required: bool = True) -> str:
    """Return ``mapping[name]`` as a text (a number is written out); '' or Malformed when missing."""
    value = mapping.get(name) if isinstance(mapping, dict) else None
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if required:
        raise Malformed(f"{name} is missing")
    return ""


def header(headers: Mapping[str, str], name: str) -> str:
    """Return the request header ``name`` (any case), or ''."""
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    return value or ""


def authenticate_secret(headers: Mapping[str, str], secret: str) -> None:
    """Accept the request when it carries the hook's secret (basic auth password or header); else BadSignature."""
    offered = header(headers, SECRET_HEADER) or _basic_password(header(headers, "Authorization"))
    # Compared as bytes: compare_digest refuses non-ASCII text, which a visitor may send.
    if not offered or not secret or not hmac.compare_digest(offered.encode("utf-8"), secret.encode("utf-8")):
        raise BadSignature("the hook's secret is missing or wrong")


def _basic_password(authorization: str) -> str:
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[2]
