"""Invariant 3: any edit, deletion or reordering of events is found and named.

The database refuses such changes (see test_append_only.py): these tests
lift its triggers to play the attacker who has the database's owner rights.
"""
import pytest
from sqlalchemy import select, text

from consent_center.ledger import append_only
from consent_center.extensions import db
from consent_center.models import VerificationRun
from consent_center.ledger import Actor, record_change
from consent_center.models import ConsentEvent, Source
from consent_center.subjects.service import create_subject


@pytest.fixture
def history(session):
    """One subject with a few changes; returns its events in chain order."""
    subject = create_subject(session, actor=Actor.system(), email="a@example.com", is_customer=True)
    create_subject(session, actor=Actor.system(), email="b@example.com", is_customer=True)
    for status in ("withdrawn", "granted", "withdrawn", "granted"):
        record_change(session, subject, {"newsletter": status if status == "granted" else "withdrawn",
                                         "sms": status}, source=Source.API, actor=Actor.system())
    session.commit()
    return session.scalars(select(ConsentEvent).where(ConsentEvent.subject_id == subject.id)
                           .order_by(ConsentEvent.seq)).all()


def raw(sql, **params):
    """Tamper with the ledger behind the app's back, in raw SQL, the triggers lifted."""
    with append_only.lifted(db.session.connection()):
        db.session.execute(text(sql), params)
    db.session.commit()


def test_verify_passes_on_an_untouched_ledger(runner, history):
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "OK:" in result.output and "2 chains" in result.output


def test_verify_records_each_run_with_its_finding(runner, session, history):
    runner.invoke(args=["ledger", "verify"])
    raw("UPDATE consent_events SET basis = 'consent' WHERE id = :id", id=history[2].id)
    runner.invoke(args=["ledger", "verify"])
    session.rollback()
    good, bad = session.scalars(select(VerificationRun).order_by(VerificationRun.id)).all()
    assert (good.ok, good.events, good.subjects, good.started_by) == (True, 16, 2, "cli")
    assert good.finished_at >= good.started_at and good.first_break is None
    assert not bad.ok and bad.first_break_event_id == history[2].id
    assert f"event {history[2].id} " in bad.first_break


def test_verify_names_an_edited_event(runner, history):
    target = history[5]
    raw("UPDATE consent_events SET status = 'granted' WHERE id = :id", id=target.id)
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert f"event {target.id} " in result.output and "edited" in result.output


def test_verify_names_the_event_after_a_deleted_one(runner, history):
    deleted, following = history[4], history[5]
    raw("DELETE FROM consent_events WHERE id = :id", id=deleted.id)
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert f"event {following.id} " in result.output


def test_verify_catches_a_deleted_last_event_by_the_sequence_gap(runner, history):
    # The last event's successor does not exist; deleting a middle one and
    # renumbering seq still breaks the prev_hash link.
    a, b = history[4], history[5]
    raw("DELETE FROM consent_events WHERE id = :id", id=a.id)
    raw("UPDATE consent_events SET seq = seq - 1 WHERE subject_id = :s AND seq > :q", s=a.subject_id, q=a.seq)
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert f"event {b.id} " in result.output


def test_verify_names_reordered_events(runner, history):
    a, b = history[4], history[5]
    # Swap the two events' positions in the chain.
    raw("UPDATE consent_events SET seq = -1 WHERE id = :id", id=a.id)
    raw("UPDATE consent_events SET seq = :s WHERE id = :id", s=a.seq, id=b.id)
    raw("UPDATE consent_events SET seq = :s WHERE id = :id", s=b.seq, id=a.id)
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert f"event {a.id} " in result.output or f"event {b.id} " in result.output
