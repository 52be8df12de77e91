"""The providers a hook may be created for: one ``Provider`` per (kind, provider) pair.

A provider module builds its ``Provider`` and calls ``register`` at import;
``providers/__init__.py`` imports every module (adding a provider is one
module and one line there). The pipeline asks nothing else of a provider.
"""
from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy.orm import Session

from consent_center.models import InboundHook, InboundMessage

KINDS = ("sms", "email")


class HookError(Exception):
    """A request the hook refuses; nothing is written. ``status`` and ``kind`` say how (problem+json)."""

    status = 400
    kind = "malformed-request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Unauthenticated(HookError):
    """No signature, a wrong one, or one made too long ago (outside the replay window)."""

    status = 401
    kind = "unauthenticated"


class Malformed(HookError):
    """Signed, but not a message this provider sends."""


class UnknownHook(HookError):
    """No hook at this address (or one of another kind or provider)."""

    status = 404
    kind = "not-found"


class RevokedHook(HookError):
    """The hook was revoked: its provider must be told to stop posting."""

    status = 410
    kind = "hook-revoked"


class SecretError(ValueError):
    """A secret given at creation that this provider cannot use."""


@dataclass(frozen=True)
class HookRequest:
    """What a provider reads of a request: the exact bytes, the headers, the form, its public URL."""

    body: bytes
    headers: Mapping[str, str]
    form: Mapping[str, str]  # form-encoded bodies: each key's first value
    form_pairs: tuple[tuple[str, str], ...]  # every (key, value), repeated keys included
    content_type: str
    public_url: str  # as the provider called it: CONSENT_BASE_URL + path + query
    now: datetime
    tolerance: timedelta


@dataclass(frozen=True)
class Inbound:
    """One message read from a request (a request may carry several: an e-mail provider's batch)."""

    message_id: str
    sender: str  # as the provider wrote it; ``Provider.handle`` normalises it
    text: str = ""
    recipient: str | None = None
    sent_at: datetime | None = None
    data: Mapping[str, Any] = field(default_factory=dict)  # what else the kind needs (an e-mail event's type)
    raw: str | None = None  # this message's own part of a batch, kept as its evidence (default: the whole body)


@dataclass
class Handled:
    """What handling one message did: its outcome, the sender in stored form, details, a reply to the person."""

    outcome: str
    sender: str | None = None
    details: dict = field(default_factory=dict)
    reply: str | None = None


@dataclass
class Result:
    """Every message of one request: the new ones handled, and the ids already seen (duplicates)."""

    handled: list[tuple[InboundMessage, Handled]] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Provider:
    kind: str
    name: str
    title: str  # shown on /admin and in `hook list`
    # The secret to store, from the one given at creation (None: make one, or SecretError if it must be given).
    make_secret: Callable[[str | None], str]
    # Raise Unauthenticated unless the request is signed with the hook's secret, recently.
    verify: Callable[[InboundHook, HookRequest], None]
    # The messages of a verified request; Malformed if it holds none we understand.
    parse: Callable[[HookRequest], list[Inbound]]
    # Act on one new message, inside the request's transaction (the message row is flushed).
    handle: Callable[[Session, InboundHook, InboundMessage, Inbound], Handled]
    # The HTTP answer (body, status, headers) once the transaction is done; default: JSON counts.
    answer: Callable[[Result], tuple[str, int, dict]] | None = None
    secret_given: bool = False  # the operator must pass the provider's own secret (--secret)


# Filled by the provider modules as they are imported (``providers/__init__.py`` imports them all
# and is where they are looked up: ``providers.provider_for``).
PROVIDERS: dict[tuple[str, str], Provider] = {}


def register(provider: Provider) -> Provider:
    """Make ``provider`` available to hooks of its kind."""
    if provider.kind not in KINDS:
        raise ValueError(f"unknown hook kind {provider.kind!r}")
    PROVIDERS[(provider.kind, provider.name)] = provider
    return provider


def within_window(sent_at: datetime, request: HookRequest) -> None:
    """Raise Unauthenticated unless ``sent_at`` is within the replay window of now (either way)."""
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=timezone.utc)
    if abs(request.now - sent_at) > request.tolerance:
        raise Unauthenticated(f"the signed timestamp is outside the {int(request.tolerance.total_seconds())}-second "
                              f"window: an old request, replayed, or a clock far off")


def same(expected: bytes | str, given: bytes | str) -> bool:
    """Compare two signatures in constant time."""
    as_bytes = [v.encode() if isinstance(v, str) else v for v in (expected, given)]
    return hmac.compare_digest(as_bytes[0], as_bytes[1])
