"""From a provider module's Notices to the hook pipeline's messages, and its refusals to the pipeline's.

Each feedback item becomes one message, kept as evidence under the
provider's id of its event (several items of one event: ``id:1``, ``id:2``,
…). What a message keeps of the payload names only its own address: every
other address in it is replaced (a bounce notification lists each
recipient, a reported message carries its sender's), so that erasing one
person, which blanks the messages about them, leaves no trace of them in
another person's. An event read and left alone keeps no address at all.
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from consent_center.inbound.mail import feedback
from consent_center.inbound.mail.feedback import Notice
from consent_center.inbound.registry import HookRequest, Inbound, Malformed, SecretError, Unauthenticated, within_window

REDACTED = "<redacted>"
# A secret given for a provider that signs nothing (it goes into a URL's credentials).
MIN_SECRET = 24
# Wider than a valid address on purpose: whatever looks like one is judged. A JSON escape
# (\u00e9, or \\u00e9 inside SNS's Message) is part of an address; any other backslash is not.
_PART = r"(?:\\+u[0-9a-fA-F]{4}|[^\s<>\"'(),;:\[\]\\])+"
_ADDRESS_LIKE = re.compile(_PART + "@" + _PART)

T = TypeVar("T")


@contextmanager
def refusals() -> Iterator[None]:
    """Turn a provider module's refusals into the pipeline's (401 for a signature, 400 for the rest)."""
    try:
        yield
    except feedback.BadSignature as exc:
        raise Unauthenticated(str(exc)) from None
    except feedback.Malformed as exc:
        raise Malformed(str(exc)) from None


def checked(read: Callable[[], T]) -> T:
    """Run ``read`` under ``refusals``."""
    with refusals():
        return read()


def fresh(notices: list[Notice], request: HookRequest) -> None:
    """Refuse (Unauthenticated) a request whose signed moment is outside the replay window."""
    for sent_at in {notice.sent_at for notice in notices if notice.sent_at is not None}:
        within_window(sent_at, request)


def messages(notices: list[Notice], body: bytes) -> list[Inbound]:
    """One pipeline message per feedback item, and one per event left alone."""
    found: list[Inbound] = []
    for notice in notices:
        raw = notice.raw if notice.raw is not None else body.decode("utf-8", "replace")
        if not notice.items:
            data = {"ignored": list(notice.ignored)} | ({"note": notice.note} if notice.note else {})
            found.append(Inbound(message_id=notice.key, sender="", sent_at=notice.sent_at, data=data,
                                 raw=redact(raw, None)))
        for number, item in enumerate(notice.items, start=1):
            found.append(Inbound(
                message_id=notice.key if len(notice.items) == 1 else f"{notice.key}:{number}",
                sender=item.address, sent_at=notice.sent_at, raw=redact(raw, item.address),
                data={"feedback": item.kind.value, "at": item.at.isoformat(), "diagnostic": item.diagnostic,
                      "event_id": item.event_id, "message_id": item.message_id}))
    return found


def redact(text: str, keep: str | None) -> str:
    """Return ``text`` with every address but ``keep`` (any case) replaced."""
    kept = (keep or "").casefold()

    def replace(match: re.Match) -> str:
        return match.group(0) if kept and _unescaped(match.group(0)).casefold() == kept else REDACTED

    return _ADDRESS_LIKE.sub(replace, text)


def _unescaped(found: str) -> str:
    return re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), found)


def shared_secret(given: str | None) -> str:
    """The secret a provider that signs nothing carries: made here, or given (at least 24 characters)."""
    if given is None:
        return secrets.token_urlsafe(32)
    if len(given) < MIN_SECRET or any(c in given for c in ":@/ "):
        raise SecretError(f"a secret of at least {MIN_SECRET} characters, without ':', '@', '/' or spaces "
                          f"(it goes into a URL's credentials)")
    return given
