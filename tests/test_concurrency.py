"""Invariant 4: concurrent changes to one subject never lose an update."""
import multiprocessing

import pytest
from sqlalchemy import func, select

from consent_center import create_app
from consent_center.ledger.chain import replay_states, stored_states, verify_chains
from consent_center.extensions import db
from consent_center.ledger import Actor, record_change
from consent_center.models import ConsentEvent, Source, Subject
from consent_center.subjects.service import create_subject

TOGGLES = 150


def toggle_many(url: str, key_dir: str, public_id: str, channel: str, count: int, start, errors) -> None:
    """In its own process: flip one channel ``count`` times, one commit each."""
    app = create_app({"TESTING": True, "DATABASE_URL": url, "RECEIPT_KEY_DIR": key_dir})
    start.wait()
    with app.app_context():
        try:
            for i in range(count):
                subject = db.session.scalars(select(Subject).where(Subject.public_id == public_id)).one()
                status = "withdrawn" if i % 2 == 0 else "granted"
                recorded = record_change(db.session, subject, {channel: status}, source=Source.API,
                                         actor=Actor.system())
                assert len(recorded.events) == 1
                db.session.commit()
        except Exception as exc:  # reported to the parent, which fails the test
            errors.put(f"{channel}: {exc!r}")
        finally:
            db.session.remove()
            db.engine.dispose()


def run_two_writers(url: str, key_dir: str) -> int:
    """Two processes toggle one subject; check the ledger after them; return its events' count."""
    # Both writers also share the receipt key folder, as gunicorn workers do.
    app = create_app({"TESTING": True, "DATABASE_URL": url, "RECEIPT_KEY_DIR": key_dir})
    with app.app_context():
        subject = create_subject(db.session, actor=Actor.system(), email="race@example.com", is_customer=True)
        public_id = subject.public_id
        db.session.commit()
        db.session.remove()
    ctx = multiprocessing.get_context("spawn")
    start, errors = ctx.Event(), ctx.Queue()
    writers = [ctx.Process(target=toggle_many, args=(url, key_dir, public_id, channel, TOGGLES, start, errors))
               for channel in ("email", "sms")]
    for w in writers:
        w.start()
    start.set()
    for w in writers:
        w.join(timeout=240)
        assert w.exitcode == 0
    assert errors.empty(), errors.get()
    with app.app_context():
        session = db.session
        subject = session.scalars(select(Subject).where(Subject.public_id == public_id)).one()
        count = session.scalar(select(func.count()).where(ConsentEvent.subject_id == subject.id))
        assert count == 4 + 2 * TOGGLES  # defaults, then every toggle of both writers
        seqs = session.scalars(select(ConsentEvent.seq).where(ConsentEvent.subject_id == subject.id)
                               .order_by(ConsentEvent.seq)).all()
        assert seqs == list(range(1, count + 1))
        assert verify_chains(session).ok
        assert replay_states(session) == stored_states(session)
        session.remove()
        db.engine.dispose()
    return count


def test_two_processes_toggling_one_subject_lose_no_update(database_url, tmp_path):
    """On the suite's backend (SQLite serialises writers; PostgreSQL locks the row)."""
    assert run_two_writers(database_url, str(tmp_path / "keys")) == 4 + 2 * TOGGLES


@pytest.mark.postgres
def test_two_processes_on_postgres_lose_no_update(postgres_databases, tmp_path):
    url = postgres_databases.create()
    try:
        assert run_two_writers(url, str(tmp_path / "keys")) == 4 + 2 * TOGGLES
    finally:
        postgres_databases.drop(url)


@pytest.mark.postgres
def test_states_read_before_the_lock_do_not_leak_into_the_event(postgres_databases, tmp_path):
    # The preference form loads the states, then records the change: a change
    # committed by someone else in between must be what the event says it follows.
    from sqlalchemy.orm import Session

    from consent_center.ledger import current_states

    url = postgres_databases.create()
    app = create_app({"TESTING": True, "DATABASE_URL": url, "RECEIPT_KEY_DIR": str(tmp_path / "keys")})
    try:
        with app.app_context():
            session = db.session
            subject = create_subject(session, actor=Actor.system(), email="lea@example.com", is_customer=True)
            session.commit()
            shown = current_states(session, subject)  # what the form showed: email granted (soft opt-in)
            assert {s.status for s in shown.values()} >= {"granted"}
            with Session(db.engine) as other:
                other_subject = other.get(Subject, subject.id)
                record_change(other, other_subject, {"email": "withdrawn"}, source=Source.API,
                              actor=Actor.system())
                other.commit()
            recorded = record_change(session, subject, {"email": "refused"}, source=Source.CUSTOMER_SPACE,
                                     actor=Actor.system())
            session.commit()
            assert recorded.events[0].previous_status == "withdrawn"
            assert verify_chains(session).ok
            assert replay_states(session) == stored_states(session)
            session.remove()
    finally:
        db.engine.dispose()
        postgres_databases.drop(url)
