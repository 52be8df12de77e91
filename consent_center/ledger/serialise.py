"""A consent event's public form: the one dict the API's answers, the feed and webhooks carry.

Each surface adds only what is its own (the feed: the subject's e-mail
address) and writes the moment as its wire format does; the fields and
their meaning are decided here.
"""
from __future__ import annotations

from typing import Protocol

from consent_center.check.answer import Answer


class EventLike(Protocol):
    """A ConsentEvent, or a row of the same columns."""

    public_id: str
    status: str
    previous_status: str | None
    basis: str
    event_type: str
    source: str


def public_event(event: EventLike, *, subject: str, channel: str, policy_version: str | None,
                 receipt: str | None, answer: Answer) -> dict:
    """Return the event's public fields; ``occurred_at`` stays a datetime for the caller's format."""
    return {
        "id": event.public_id, "subject": subject, "channel": channel,
        "status": event.status, "previous_status": event.previous_status,
        "allowed": answer.allowed, "reason": answer.reason,
        "basis": event.basis, "event_type": event.event_type, "source": event.source,
        "occurred_at": event.occurred_at, "policy_version": policy_version, "receipt": receipt,
    }
