"""How the ledger writes a change: Core statements, and the session kept true to them.

The receipt, the events and the states are written with Core statements (on
PostgreSQL one statement of data-modifying CTEs); the ORM's unit of work
cost more than the INSERTs themselves. The objects written then join the
session as stored, and leave it again with a rollback. Only the ledger
(``record_change``) calls ``write``, and only its bulk path
(``ledger.bulk.record_many``) calls ``write_many``.
"""
from __future__ import annotations

import functools
import weakref
from collections.abc import Collection

from sqlalchemy import bindparam, event as orm_event, func, insert, select, text, true, union_all, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, make_transient_to_detached, scoped_session

from consent_center.db.copy import copy_rows, insert_rows
from consent_center.models import ConsentEvent, ConsentState, Receipt, Subject

_events = ConsentEvent.__table__
_states = ConsentState.__table__
_receipts = Receipt.__table__
_INSERT_RECEIPT = insert(_receipts).returning(_receipts.c.id)
_INSERT_EVENTS = insert(_events).returning(_events.c.id, sort_by_parameter_order=True)
_INSERT_STATE = insert(_states)
_UPDATE_STATE = update(_states).where(
    _states.c.subject_id == bindparam("key_subject_id"), _states.c.channel_id == bindparam("key_channel_id"))

_RECEIPT_COLUMNS = ("public_id", "subject_id", "issued_at", "document", "jws", "language")
_EVENT_COLUMNS = ("public_id", "subject_id", "seq", "channel_id", "status", "previous_status", "basis",
                  "event_type", "source", "actor_type", "actor_id", "policy_version_id", "occurred_at",
                  "evidence", "trace", "prev_hash", "hash")
_STATE_FROM_EVENT = ("status", "basis", "policy_version_id")


@functools.cache
def _pg_write(count: int):
    """PostgreSQL: the receipt, ``count`` events and their states in one statement.

    Data-modifying CTEs spare two round trips a change, and the app the Python
    of two executions. Built once for each number of events. Parameters:
    ``r_<column>`` for the receipt, ``e<i>_<column>`` for event i, and
    ``subject_id``; one row per event comes back: (receipt id, event id, channel id).
    """
    receipt = insert(_receipts).values(
        {name: bindparam(f"r_{name}", type_=_receipts.c[name].type) for name in _RECEIPT_COLUMNS}
    ).returning(_receipts.c.id).cte("r")
    selects = [select(*(bindparam(f"e{i}_{name}", type_=_events.c[name].type).label(name) for name in _EVENT_COLUMNS))
               for i in range(count)]
    rows = (union_all(*selects) if count > 1 else selects[0]).subquery("v")
    events = insert(_events).from_select(
        [*_EVENT_COLUMNS, "receipt_id"],
        # Ids in seq order, as the chain's verification reads them: the order is the SELECT's.
        select(*(rows.c[name] for name in _EVENT_COLUMNS), receipt.c.id).select_from(rows.join(receipt, true()))
        .order_by(rows.c.seq),
    ).returning(_events.c.id, _events.c.channel_id, _events.c.occurred_at,
                *(_events.c[name] for name in _STATE_FROM_EVENT)).cte("e")
    upsert = postgresql.insert(_states).from_select(
        ["subject_id", "channel_id", "event_id", "changed_at", *_STATE_FROM_EVENT],
        select(bindparam("subject_id", type_=_states.c.subject_id.type), events.c.channel_id, events.c.id,
               events.c.occurred_at, *(events.c[name] for name in _STATE_FROM_EVENT)),
    )
    upsert = upsert.on_conflict_do_update(
        index_elements=[_states.c.subject_id, _states.c.channel_id],
        set_={"event_id": upsert.excluded.event_id, "changed_at": upsert.excluded.changed_at,
              **{name: upsert.excluded[name] for name in _STATE_FROM_EVENT}},
    ).cte("s")
    return (
        select(receipt.c.id, events.c.id, events.c.channel_id).select_from(receipt.join(events, true()))
        .add_cte(upsert)
    )


def write(session: Session, subject: Subject, receipt: Receipt, events: list[ConsentEvent],
           rows: list[dict], states: Collection[int]) -> None:
    """Insert the receipt and events, move the states; the objects join the session as stored."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        params = {f"r_{name}": getattr(receipt, name) for name in _RECEIPT_COLUMNS}
        params["subject_id"] = subject.id
        for i, row in enumerate(rows):
            params.update({f"e{i}_{name}": row[name] for name in _EVENT_COLUMNS})
        written = connection.execute(_pg_write(len(rows)), params).all()
        receipt.id = written[0][0]
        ids = {channel_id: event_id for _, event_id, channel_id in written}
        for event in events:
            event.id, event.receipt_id, event.receipt = ids[event.channel_id], receipt.id, receipt
    else:
        _write_each(connection, subject, receipt, events, rows, states)
    plain = session.registry() if isinstance(session, scoped_session) else session
    written = _written_in(plain)
    transaction = plain.get_nested_transaction() or plain.get_transaction()
    for obj in (receipt, *events):
        make_transient_to_detached(obj)
        session.add(obj)
        written[obj] = transaction
    expire_held_states(session, subject, states)


def _write_each(connection, subject: Subject, receipt: Receipt, events: list[ConsentEvent], rows: list[dict],
                states: Collection[int]) -> None:
    """The receipt, the events, the states: one statement each (SQLite, where a statement is no round trip)."""
    receipt.id = connection.execute(
        _INSERT_RECEIPT, {name: getattr(receipt, name) for name in _RECEIPT_COLUMNS}).scalar_one()
    for row in rows:
        row["receipt_id"] = receipt.id
    ids = connection.execute(_INSERT_EVENTS, rows).scalars().all()
    new_states, moved_states = [], []
    for event, event_id in zip(events, ids):
        event.id, event.receipt_id, event.receipt = event_id, receipt.id, receipt
        values = {"status": event.status, "basis": event.basis, "event_id": event_id,
                  "policy_version_id": event.policy_version_id, "changed_at": event.occurred_at}
        if event.channel_id in states:
            moved_states.append({"key_subject_id": subject.id, "key_channel_id": event.channel_id, **values})
        else:
            new_states.append({"subject_id": subject.id, "channel_id": event.channel_id, **values})
    if new_states:
        connection.execute(_INSERT_STATE, new_states)
    if moved_states:
        connection.execute(_UPDATE_STATE, moved_states)


def write_many(session: Session, receipts: list[Receipt], rows: list[list[dict]],
               states: dict[tuple[int, int], tuple[dict, bool]]) -> None:
    """The bulk path: many submissions' receipts, events and states, a few statements.

    ``rows[i]`` are the event rows of ``receipts[i]``, in chain order;
    ``states`` maps (subject id, channel id) to the row of the newest event
    of that channel and whether its state is already stored (moved) or not
    (inserted). Ids follow the rows' order: a subject's events get ids in
    seq order, as its chain is verified. The objects do not join the
    session (a bulk of a million events would hold them all); their ids are set.
    """
    if not receipts:
        return
    connection = session.connection()
    copies = connection.dialect.name == "postgresql"
    write = _copy_rows if copies else _insert_rows
    receipt_ids = write(connection, _receipts, _RECEIPT_COLUMNS,
                        [{name: getattr(r, name) for name in _RECEIPT_COLUMNS} for r in receipts])
    flat = []
    for receipt, receipt_id, event_rows in zip(receipts, receipt_ids, rows):
        receipt.id = receipt_id
        for row in event_rows:
            row["receipt_id"] = receipt_id
        flat += event_rows
    event_ids = write(connection, _events, (*_EVENT_COLUMNS, "receipt_id"), flat)
    for row, event_id in zip(flat, event_ids):
        row["id"] = event_id
    new_states, moved_states = [], []
    for (subject_id, channel_id), (row, stored) in states.items():
        values = {"subject_id": subject_id, "channel_id": channel_id, "status": row["status"],
                  "basis": row["basis"], "event_id": row["id"], "policy_version_id": row["policy_version_id"],
                  "changed_at": row["occurred_at"]}
        (moved_states if stored else new_states).append(values)
    if new_states:
        insert_rows(connection, _states, _STATE_COLUMNS, [[row[name] for name in _STATE_COLUMNS] for row in new_states])
    if moved_states and copies:
        connection.execute(_pg_update_states(), {
            f"a_{name}": [row[name] for row in moved_states] for name in _STATE_COLUMNS})
    elif moved_states:
        connection.execute(_UPDATE_STATE, [
            {"key_subject_id": v.pop("subject_id"), "key_channel_id": v.pop("channel_id"), **v}
            for v in moved_states])


_STATE_COLUMNS = ("subject_id", "channel_id", "status", "basis", "event_id", "policy_version_id", "changed_at")


def _insert_rows(connection, table, columns: tuple[str, ...], rows: list[dict]) -> list[int]:
    """Insert the rows with an executemany; their ids, in the rows' order."""
    return connection.execute(_insert_returning(table), [{name: row[name] for name in columns} for row in rows]
                              ).scalars().all()


@functools.cache
def _insert_returning(table):
    return insert(table).returning(table.c.id, sort_by_parameter_order=True)


def _copy_rows(connection, table, columns: tuple[str, ...], rows: list[dict]) -> list[int]:
    """PostgreSQL: the rows by COPY (``db.copy``), their ids drawn first from the table's sequence, in the rows' order."""
    # One statement's draws ascend (a sequence never goes back), so sorted is the draw order.
    drawn = sorted(connection.execute(_DRAW_IDS, {"table": table.name, "count": len(rows)}).scalars())
    copy_rows(connection, table, ("id", *columns),
              ((drawn[number], *(row[name] for name in columns)) for number, row in enumerate(rows)))
    return drawn


_DRAW_IDS = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)")


@functools.cache
def _pg_update_states():
    """PostgreSQL: the moved states in one UPDATE, one array parameter a column."""
    arrays = (bindparam(f"a_{name}", type_=ARRAY(_states.c[name].type)) for name in _STATE_COLUMNS)
    rows = func.unnest(*arrays).table_valued(*_STATE_COLUMNS).render_derived(name="v")
    return update(_states).values({name: rows.c[name] for name in _STATE_COLUMNS[2:]}).where(
        _states.c.subject_id == rows.c.subject_id, _states.c.channel_id == rows.c.channel_id)


def expire_held_states(session: Session, subject: Subject, states: Collection[int]) -> None:
    """States of the subject the session holds were read before the lock, or before this
    change: the next access reads them again."""
    for channel_id in states:
        held = session.identity_map.get(session.identity_key(ConsentState, (subject.id, channel_id)))
        if held is not None:
            session.expire(held)


# The objects written above join the session as stored, not as new: a rollback
# would leave them there. A listener takes them out again, as a rollback
# does with what a flush inserted, and reads everything else afresh. Entries
# of committed transactions stay until their objects die: no later rollback
# is an ancestor of their transaction, so none takes them out.
_WRITTEN = "consent_written_objects"  # in Session.info: object -> its innermost transaction


def _written_in(session: Session) -> weakref.WeakKeyDictionary:
    """The session's written objects; with the first, the listener joins this session only
    (no listener on the Session class: every other session of the process goes without)."""
    written = session.info.get(_WRITTEN)
    if written is None:
        # Weakly held, as the session holds them: an import of a million contacts
        # in one transaction must not keep every receipt alive.
        written = session.info[_WRITTEN] = weakref.WeakKeyDictionary()
        if not orm_event.contains(session, "after_soft_rollback", _written_objects_leave_with_a_rollback):
            orm_event.listen(session, "after_soft_rollback", _written_objects_leave_with_a_rollback)
    return written


def _written_objects_leave_with_a_rollback(session: Session, previous_transaction) -> None:
    written = session.info.get(_WRITTEN)
    if not written:
        return
    undone = [obj for obj, transaction in list(written.items()) if _within(transaction, previous_transaction)]
    if not undone:
        return
    for obj in undone:
        del written[obj]
        if obj in session:
            session.expunge(obj)
    session.expire_all()


def _within(transaction, outer) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False

