"""The outbox: messages written with the change that caused them, delivered later.

A service that causes an e-mail or a webhook calls ``enqueue`` inside its
own transaction, so the message exists exactly when the change does. The
``flask --app wsgi outbox deliver`` worker then delivers it, dispatching by
``kind`` to the deliverer registered for it (``register_deliverer``).

Claiming is a lease: one short transaction picks due messages (``FOR UPDATE
SKIP LOCKED`` on PostgreSQL, so workers never pick the same row; SQLite
serialises writers), counts the attempt and moves ``next_attempt_at`` past
the lease. Delivery then happens outside any transaction, and a second
short transaction records the outcome — only if the lease is still ours.
A worker that dies mid-delivery leaves a message that comes back when its
lease runs out: delivery is at least once, and never twice at once.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from flask import current_app
from sqlalchemy import Insert, Select, String, bindparam, cast, func, insert, literal, select, update
from sqlalchemy.orm import Session

from consent_center.clock import utcnow
from consent_center.models import OutboxMessage

log = logging.getLogger(__name__)

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
# Longer than any delivery may take (SMTP_TIMEOUT is 30 s by default).
LEASE = timedelta(minutes=5)
# No retry waits longer than this, however many attempts came before.
MAX_RETRY_DELAY = timedelta(hours=6)

Deliverer = Callable[[OutboxMessage], None]
_deliverers: dict[str, Deliverer] = {}
_INSERT_MESSAGES = insert(OutboxMessage.__table__)


class PermanentFailure(Exception):
    """A delivery that no retry can fix (e.g. SMTP 5xx): the message is dead at once."""


def register_deliverer(kind: str, deliver: Deliverer) -> None:
    """Deliver messages of ``kind`` with ``deliver(message)``, which raises on failure."""
    _deliverers[kind] = deliver


def unregister_deliverer(kind: str) -> None:
    """Deliver messages of ``kind`` no more (they wait: ``claim`` leaves kinds nobody delivers alone)."""
    _deliverers.pop(kind, None)


def registered_kinds() -> list[str]:
    return sorted(_deliverers)


def enqueue(session: Session, *, kind: str, topic: str, recipient: str, payload: dict) -> OutboxMessage:
    """Add a message to the outbox in the caller's transaction, and flush."""
    message = OutboxMessage(kind=kind, topic=topic, recipient=recipient, payload=payload,
                            status=PENDING, attempts=0, next_attempt_at=utcnow())
    session.add(message)
    session.flush()
    return message


def enqueue_for_each(session: Session, *, kind: str, topic: str, recipients: Select, payload: dict) -> None:
    """Add one message per recipient that ``recipients`` (a select of one column) finds, in the caller's transaction.

    For the consent-change hook, which runs on every change: one Core
    statement, where the ORM's unit of work would cost more than the insert.
    On PostgreSQL it is one INSERT … SELECT, the ids drawn by
    ``gen_random_uuid()``: a round trip less per change than reading the
    recipients first, which the other engines do (a round trip there is none).
    """
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(_insert_for_each(recipients), {
            "kind": kind, "topic": topic, "payload": payload, "status": PENDING, "now": now})
        return
    found = session.connection().execute(recipients).scalars().all()
    if found:
        session.connection().execute(_INSERT_MESSAGES, [
            {"public_id": str(uuid.uuid4()), "kind": kind, "topic": topic, "recipient": recipient,
             "payload": payload, "status": PENDING, "attempts": 0, "created_at": now, "next_attempt_at": now}
            for recipient in found])


def enqueue_many(session: Session, *, kind: str, topic: str, recipients: list[str], payloads: list[dict]) -> None:
    """Add one message per payload and recipient, payload after payload, in one statement, in the caller's transaction."""
    now = utcnow()
    session.connection().execute(_INSERT_MESSAGES, [
        {"public_id": str(uuid.uuid4()), "kind": kind, "topic": topic, "recipient": recipient, "payload": payload,
         "status": PENDING, "attempts": 0, "created_at": now, "next_attempt_at": now}
        for payload in payloads for recipient in recipients])


@cache
def _insert_for_each(recipients: Select) -> Insert:
    # Built once per recipients' select: composing it costs more Python than running it.
    found = recipients.subquery("recipients")
    table = OutboxMessage.__table__
    columns = ("public_id", "kind", "topic", "recipient", "payload", "status", "attempts", "created_at",
               "next_attempt_at")
    return insert(table).from_select(columns, select(
        cast(func.gen_random_uuid(), String), bindparam("kind", type_=String), bindparam("topic", type_=String),
        found.c[0], bindparam("payload", type_=table.c.payload.type), bindparam("status", type_=String),
        literal(0), bindparam("now", type_=table.c.created_at.type), bindparam("now", type_=table.c.created_at.type),
    ))


def retry_delay(attempts: int) -> timedelta:
    """Return how long to wait after the ``attempts``-th failed attempt (doubling)."""
    base = current_app.config["OUTBOX_RETRY_SECONDS"]
    seconds = base * 2 ** min(max(attempts - 1, 0), 20)
    return min(timedelta(seconds=seconds), MAX_RETRY_DELAY)


@dataclass(frozen=True)
class Claim:
    """A leased message: its id and the attempt number that holds the lease."""

    id: int
    attempt: int


def _due(kinds: list[str], now):
    return (OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now,
            OutboxMessage.kind.in_(kinds))


def count_due(session: Session, kinds: list[str] | None = None) -> int:
    kinds = kinds or registered_kinds()
    return session.scalar(select(func.count()).select_from(OutboxMessage).where(*_due(kinds, utcnow())))


def claim(session: Session, *, limit: int = 20, kinds: list[str] | None = None) -> list[Claim]:
    """Lease up to ``limit`` due messages of kinds that have a deliverer, and commit.

    Messages of a kind nobody delivers (yet) are left alone, not worn out.
    """
    kinds = [k for k in (kinds or registered_kinds()) if k in _deliverers]
    if not kinds:
        return []
    now = utcnow()
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.attempts)
        .where(*_due(kinds, now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    claims = [Claim(row.id, row.attempts + 1) for row in rows]
    for c in claims:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == c.id)
                        .values(attempts=c.attempt, next_attempt_at=now + LEASE))
    session.commit()
    return claims


def _finish(session: Session, c: Claim, **values) -> bool:
    """Record an outcome if the lease is still ours; return whether it was."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == c.id, OutboxMessage.attempts == c.attempt,
               OutboxMessage.status == PENDING)
        .values(**values)
    )
    session.commit()
    return result.rowcount == 1


@dataclass
class Tally:
    """What a delivery run did."""

    delivered: int = 0
    retried: int = 0
    dead: int = 0

    @property
    def total(self) -> int:
        return self.delivered + self.retried + self.dead


def deliver_claimed(session: Session, c: Claim) -> str:
    """Deliver one leased message and record the outcome; return its new status."""
    message = session.get(OutboxMessage, c.id, populate_existing=True)
    if message is None:  # deleted since it was leased: nothing left to deliver
        session.rollback()
        return DEAD
    # The deliverer works on a detached copy, outside any transaction: a
    # slow SMTP server must hold no lock (on SQLite, the one write lock).
    session.expunge(message)
    session.rollback()
    max_attempts = current_app.config["OUTBOX_MAX_ATTEMPTS"]
    try:
        _deliverers[message.kind](message)
    except Exception as exc:  # any failure is recorded on the message, never lost
        session.rollback()
        error = f"{exc.__class__.__name__}: {exc}"[:2000]
        permanent = isinstance(exc, PermanentFailure) or c.attempt >= max_attempts
        log.warning("outbox message %s (%s) attempt %d failed: %s",
                    message.public_id, message.topic, c.attempt, error)
        if permanent:
            _finish(session, c, status=DEAD, last_error=error)
            return DEAD
        _finish(session, c, last_error=error, next_attempt_at=utcnow() + retry_delay(c.attempt))
        return PENDING
    _finish(session, c, status=DELIVERED, delivered_at=utcnow(), last_error=None)
    return DELIVERED


def deliver_due(session: Session, *, limit: int = 20, kinds: list[str] | None = None,
                progress: Callable[[int], None] | None = None) -> Tally:
    """Deliver what is due now, batch after batch, until nothing is; return the tally.

    A failed message waits for its next attempt, so this always ends.
    """
    tally = Tally()
    while True:
        claims = claim(session, limit=limit, kinds=kinds)
        if not claims:
            return tally
        for c in claims:
            outcome = deliver_claimed(session, c)
            if outcome == DELIVERED:
                tally.delivered += 1
            elif outcome == DEAD:
                tally.dead += 1
            else:
                tally.retried += 1
            if progress:
                progress(1)
