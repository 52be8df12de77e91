"""The ledger keeps its bookkeeping to the sessions it writes with: no listener on the
Session class, and each assumption it makes of SQLAlchemy held by a test here."""
import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from consent_center import ledger
from consent_center.extensions import db
from consent_center.ledger import Actor, record_change
from consent_center.ledger.writes import _written_objects_leave_with_a_rollback
from consent_center.models import Source, Status
from consent_center.subjects.service import create_subject

CHANGE = dict(source=Source.API, actor=Actor.system())


def test_only_the_sessions_the_ledger_wrote_with_listen_for_rollbacks(session):
    assert not event.contains(Session, "after_soft_rollback", _written_objects_leave_with_a_rollback)
    subject = create_subject(session, actor=Actor.system(), email="a@example.com", is_customer=True)
    session.commit()
    with Session(db.engine) as bystander, Session(db.engine) as writer:
        other_subject = writer.get(type(subject), subject.id)
        undone = record_change(writer, other_subject, {"newsletter": Status.GRANTED}, **CHANGE)
        assert event.contains(writer, "after_soft_rollback", _written_objects_leave_with_a_rollback)
        assert not event.contains(bystander, "after_soft_rollback", _written_objects_leave_with_a_rollback)
        writer.rollback()  # a plain Session (not the scoped one): its instance listener takes them out
        assert undone.receipt not in writer and all(e not in writer for e in undone.events)
        again = record_change(writer, other_subject, {"newsletter": Status.GRANTED}, **CHANGE)
        writer.commit()
        assert again.events[0].seq == 5
    assert not event.contains(Session, "after_soft_rollback", _written_objects_leave_with_a_rollback)


def test_a_subject_is_locked_once_per_transaction(session):
    # Relies on Session.get_transaction(): the same root object through savepoints,
    # a new one for each transaction. Fails if an upgrade changes either.
    if session.get_bind().dialect.name == "sqlite":
        pytest.skip("SQLite takes no row lock: BEGIN IMMEDIATE holds the database's write lock")
    subject = create_subject(session, actor=Actor.system(), email="a@example.com", is_customer=True)
    session.commit()
    locks = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "FOR UPDATE" in statement:
            locks.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        ledger.lock_subject(session, subject)
        ledger.lock_subject(session, subject)
        assert len(locks) == 1
        savepoint = session.begin_nested()
        ledger.lock_subject(session, subject)
        savepoint.rollback()  # the row lock belongs to the transaction, not to the savepoint
        ledger.lock_subject(session, subject)
        assert len(locks) == 1
        session.commit()
        ledger.lock_subject(session, subject)
        assert len(locks) == 2
        session.rollback()
        assert ledger.find_subject_for_change(session, subject.public_id) is not None
        ledger.lock_subject(session, subject)  # found and locked in the same query
        assert len(locks) == 3
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
        session.rollback()
