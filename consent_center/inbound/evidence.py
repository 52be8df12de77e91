"""The messages hooks accepted, as auditors read and export them, and what erasure forgets of them."""
from __future__ import annotations

from collections.abc import Iterator

from datetime import datetime

from sqlalchemy import String, cast, false, func, or_, select, update
from sqlalchemy.orm import Session

from consent_center.canonical import format_time
from consent_center.clock import utcnow
from consent_center.models import InboundHook, InboundMessage

PAGE = 200
EXPORT_FIELDS = ("message", "hook", "kind", "provider", "provider_message_id", "received_at", "sender", "outcome",
                 "details", "payload", "redacted_at")


def _query(hook_id: str | None = None):
    query = select(InboundMessage, InboundHook).join(InboundHook, InboundHook.id == InboundMessage.hook_id)
    return query.where(InboundHook.public_id == hook_id) if hook_id else query


def latest_messages(session: Session, limit: int = PAGE) -> list[tuple[InboundMessage, InboundHook]]:
    """The newest messages, newest first (the audit page)."""
    return [tuple(row) for row in session.execute(_query().order_by(InboundMessage.id.desc()).limit(limit))]


def message_rows(session: Session, hook_id: str | None = None) -> Iterator[dict]:
    """Every message as a flat record, oldest first (`hook messages --export`, the audit download)."""
    for message, hook in session.execute(_query(hook_id).order_by(InboundMessage.id).execution_options(
            yield_per=500)):
        yield {"message": message.public_id, "hook": hook.public_id, "kind": hook.kind, "provider": hook.provider,
               "provider_message_id": message.provider_message_id, "received_at": format_time(message.received_at),
               "sender": message.sender, "outcome": message.outcome, "details": message.details,
               "payload": message.payload,
               "redacted_at": format_time(message.redacted_at) if message.redacted_at else None}


def forget_sender(session: Session, stored: list[str], subject: str | None = None) -> int:
    """Erasure: blank the sender and the payload of every message from these numbers or addresses, or naming
    ``subject`` (a public id) in its details: a stop sent from a number the person had before a change.

    The row stays, with its outcome and the pseudonymous ids in its details:
    it is the evidence the ledger's events point to, and says nothing more
    of the person.
    """
    stored = [value for value in stored if value]
    naming = cast(InboundMessage.details, String).contains(f'"{subject}"', autoescape=True) if subject else false()
    if not stored and subject is None:
        return 0
    result = session.execute(update(InboundMessage)
                             .where(or_(InboundMessage.sender.in_(stored) if stored else false(), naming),
                                    InboundMessage.redacted_at.is_(None))
                             .values(sender=None, payload=None, redacted_at=utcnow())
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0


# The outcomes of messages that changed nothing: nothing names them, their retention is short.
UNACTED = ("ignored", "needs_review", "unreadable_number")


def forget_unacted(session: Session, before: datetime, *, dry_run: bool = False) -> int:
    """Retention: blank sender and payload of every message that changed nothing, received before ``before``.

    The row stays (its provider's id keeps a replay of it a duplicate).
    """
    due = (InboundMessage.outcome.in_(UNACTED), InboundMessage.received_at < before,
           InboundMessage.redacted_at.is_(None))
    if dry_run:
        return session.scalar(select(func.count()).select_from(InboundMessage).where(*due)) or 0
    result = session.execute(update(InboundMessage).where(*due)
                             .values(sender=None, payload=None, redacted_at=utcnow())
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0
