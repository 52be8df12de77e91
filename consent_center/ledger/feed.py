"""The change feed: every consent event once, oldest first, by opaque cursor.

A marketing tool polls it to keep its suppression list exact, so no event
may be skipped or served twice while new ones arrive. On SQLite writers are
serialised, so events commit in id order and the feed reads by id. On
PostgreSQL an id is taken at INSERT but transactions commit in any order:
a reader could see event 12 before event 11 commits, move its cursor past
11 and never see it. So each event there carries its transaction's id
(``txid``, a column default), and the feed serves, in ``(txid, id)`` order,
only events of transactions older than the oldest one of this database
still running (horizon.py): nothing can commit behind the cursor any more.
A transaction left open in this database delays the feed; it never makes it
lose an event. One left open in another database on the server does
neither.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from consent_center.check.answer import State
from consent_center.check.blocks import answers_now
from consent_center.check.channels import channel_rules
from consent_center.clock import utcnow
from consent_center.db import BIGINT_MAX
from consent_center.ledger.horizon import HORIZON
from consent_center.ledger.serialise import public_event
from consent_center.models import Channel, ConsentEvent, PolicyVersion, Receipt, Subject

CURSOR_VERSION = "1"


class CursorError(ValueError):
    """A cursor this server did not issue."""


@dataclass(frozen=True)
class Cursor:
    txid: int
    id: int

    def encode(self) -> str:
        raw = f"{CURSOR_VERSION}.{self.txid}.{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
            version, txid, event_id = raw.split(".")
            if version != CURSOR_VERSION or not txid.isdigit() or not event_id.isdigit():
                raise ValueError
            if int(txid) > BIGINT_MAX or int(event_id) > BIGINT_MAX:  # bigint columns: refused there
                raise ValueError
            return cls(int(txid), int(event_id))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise CursorError("This cursor was not issued by this feed.") from None


START = Cursor(0, 0)


@dataclass
class Page:
    events: list[dict]
    next: Cursor
    has_more: bool


def read_page(session: Session, after: Cursor, limit: int, *, channel_id: int | None = None,
              since: datetime | None = None) -> Page:
    """Return up to ``limit`` events after ``after``, and the cursor to read on."""
    e = ConsentEvent.__table__
    postgres = session.get_bind().dialect.name == "postgresql"
    stmt = (
        select(e.c.id, e.c.txid, e.c.public_id, e.c.channel_id, Subject.public_id.label("subject"),
               Subject.email, Subject.phone, Subject.is_customer, Channel.code.label("channel"), e.c.status,
               e.c.previous_status, e.c.basis, e.c.event_type, e.c.source, e.c.occurred_at,
               PolicyVersion.label.label("policy_version"), Receipt.public_id.label("receipt"))
        .join(Subject, Subject.id == e.c.subject_id)
        .join(Channel, Channel.id == e.c.channel_id)
        .join(Receipt, Receipt.id == e.c.receipt_id)
        .outerjoin(PolicyVersion, PolicyVersion.id == e.c.policy_version_id)
        .limit(limit + 1)
    )
    if postgres:
        stmt = stmt.where(
            tuple_(e.c.txid, e.c.id) > tuple_(after.txid, after.id),
            e.c.txid < HORIZON,
        ).order_by(e.c.txid, e.c.id)
    else:
        stmt = stmt.where(e.c.id > after.id).order_by(e.c.id)
    if channel_id is not None:
        stmt = stmt.where(e.c.channel_id == channel_id)
    if since is not None:
        stmt = stmt.where(e.c.occurred_at >= since)
    rows = session.execute(stmt).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    cursor = Cursor(rows[-1].txid or 0, rows[-1].id) if rows else after
    connection, now = session.connection(), utcnow()
    rules = {channel: channel_rules(connection, channel) for channel in {row.channel_id for row in rows}}
    # Served now: the answer now for the state each event produced, as the check would give it
    # (lists and undeliverable marks included: one lookup a medium for the page).
    answers = answers_now(connection, now, [
        (State(row.status, row.basis, row.occurred_at), rules[row.channel_id], row) for row in rows])
    return Page([_event(row, answer) for row, answer in zip(rows, answers)], cursor, has_more)


def _event(row, answer) -> dict:
    event = public_event(row, subject=row.subject, channel=row.channel, policy_version=row.policy_version,
                         receipt=row.receipt, answer=answer)
    return event | {"email": row.email, "occurred_at": row.occurred_at.isoformat()}
