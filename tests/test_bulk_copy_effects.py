"""The bulk path on PostgreSQL by COPY, what follows from it (a hostile review): its webhook messages,
the log's integration by COPY, two bulks at once, a bulk beside single writes, imports taking turns,
integration beside writers, PgBouncer in transaction mode."""
from __future__ import annotations

import io
import threading
import uuid
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consent_center.extensions import db
from consent_center.ledger import Actor, record_change
from consent_center.ledger.bulk import Submission, record_many
from consent_center.ledger.transparency import integrate, leaf_data, root_at
from consent_center.models import ConsentEvent, LogLeaf, LogNode, OutboxMessage, Receipt, Subject
from consent_center.models.vocabulary import Source
from consent_center.outbox.webhooks import add_endpoint
from consent_center.subjects.importer import import_contacts

from .ledger_consistency import assert_ledger_consistent
from .test_bulk_copy_review import T0, _subject, on_postgres, postgres_only
from .test_merkle import HASH, MTH

# --- 5. Webhooks: the bulk's outbox messages are record_change's ----------------------------------

def _messages(session, subject):
    found = []
    for message in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)):
        if message.payload.get("data", {}).get("subject") != subject.public_id:
            continue
        data = dict(message.payload["data"])
        data.pop("subject"), data.pop("receipt")
        data["events"] = [{k: v for k, v in e.items() if k not in ("id", "subject", "receipt")}
                          for e in data["events"]]
        found.append((message.kind, message.topic, message.recipient, message.status, message.attempts,
                      message.payload["type"], message.payload["timestamp"], data))
    return found


@pytest.mark.parametrize("active", [0, 1, 2])
def test_the_bulk_s_webhook_messages_are_record_change_s(app, session, active):
    for n in range(active):
        add_endpoint(session, f"https://hooks.example.com/{n}")
    add_endpoint(session, "https://hooks.example.com/off").active = False
    session.flush()
    single, bulk = _subject(session, "s@example.com"), _subject(session, "b@example.com")
    script = [({"email": "granted", "sms": "granted"}, Source.DEFAULT), ({"email": "granted"}, Source.API),
              ({"email": "withdrawn"}, Source.API), ({"sms": "withdrawn", "newsletter": "granted"}, Source.STAFF)]
    moments = [T0 + timedelta(minutes=i) for i in range(len(script))]
    for moment, (changes, source) in zip(moments, script):
        with freeze_time(moment):
            record_change(session, single, changes, source=source, actor=Actor.system())
    record_many(session, [Submission(bulk, changes, source, Actor.system(), at=moment)
                          for moment, (changes, source) in zip(moments, script)], chunk=2)
    session.commit()
    single_messages, bulk_messages = _messages(session, single), _messages(session, bulk)
    assert len(bulk_messages) == 3 * active  # the second submission changes nothing
    assert bulk_messages == single_messages
    ids = session.scalars(select(OutboxMessage.public_id)).all()
    assert len(set(ids)) == len(ids)


# --- 6. The log: what integrate stores is the RFC tree --------------------------------------------

def _expected_log(session):
    """The leaves in the log's order (commit order: (txid, id) on PostgreSQL, id on SQLite)."""
    order = (ConsentEvent.txid, ConsentEvent.id) if on_postgres(session) else (ConsentEvent.id,)
    return session.execute(select(ConsentEvent.id, ConsentEvent.hash).order_by(*order)).all()


def assert_log_is_the_rfc_tree(session):
    rows = _expected_log(session)
    leaves = session.execute(select(LogLeaf.index, LogLeaf.event_id).order_by(LogLeaf.index)).all()
    assert [tuple(row) for row in leaves] == [(i, row.id) for i, row in enumerate(rows)]
    data = [leaf_data(row.hash) for row in rows]
    size = len(data)
    assert root_at(session, size) == MTH(data)
    expected = {}
    level = 0
    while 2 ** level <= size:
        width = 2 ** level
        for index in range(size // width):
            expected[(level, index)] = MTH(data[index * width:(index + 1) * width])
        level += 1
    stored = {(n.level, n.index): bytes(n.hash) for n in session.scalars(select(LogNode))}
    assert stored == expected
    assert all(root_at(session, m) == MTH(data[:m]) for m in range(0, size + 1, max(size // 7, 1)))


def test_integration_by_copy_stores_the_rfc_tree_over_several_batches(app, session):
    subjects = [_subject(session, f"log{i}@example.com") for i in range(9)]
    for subject in subjects[:3]:
        record_change(session, subject, {"email": "granted", "sms": "granted"}, source=Source.API,
                      actor=Actor.system())
    session.commit()
    assert integrate(session, batch=4) == 6
    session.commit()
    record_many(session, [Submission(s, {"email": "withdrawn", "post": "granted", "newsletter": "granted"},
                                     Source.IMPORT, Actor.system()) for s in subjects], chunk=4)
    session.commit()
    record_change(session, subjects[0], {"sms": "withdrawn"}, source=Source.API, actor=Actor.system())
    session.commit()
    assert integrate(session, batch=5) == session.scalar(select(func.count()).select_from(ConsentEvent)) > 20
    session.commit()
    assert_log_is_the_rfc_tree(session)
    assert HASH(b"") == root_at(session, 0)


@pytest.mark.postgres
def test_postgres_integration_beside_an_open_bulk_keeps_commit_order(app, session):
    """A bulk whose ids were drawn (lower ids) but not committed: integration leaves its events and
    later ones out; after its commit they come, in (txid, id) order, and the tree is still the RFC's."""
    postgres_only(session)
    subjects = [_subject(session, f"c{i}@example.com") for i in range(6)]
    session.commit()
    other = Session(db.engine)
    try:
        others = [other.get(Subject, s.id) for s in subjects[:3]]
        record_many(other, [Submission(s, {"email": "granted"}, Source.IMPORT, Actor.system()) for s in others])
        other.flush()
        record_many(session, [Submission(s, {"sms": "granted"}, Source.IMPORT, Actor.system()) for s in subjects[3:]])
        session.commit()
        assert integrate(session) == 0  # the open bulk's txid holds the horizon
        session.commit()
        other.commit()
    finally:
        other.close()
    assert integrate(session) == 6
    session.commit()
    assert_log_is_the_rfc_tree(session)


# --- 7. Concurrency on PostgreSQL: two bulks, a bulk beside single writes ------------------------

def _in_thread(app, work, errors, *args):
    def run():
        with app.app_context():
            own = Session(db.engine)
            try:
                work(own, *args)
                own.commit()
            except BaseException as error:  # noqa: BLE001 (reported to the test)
                errors.append(error)
                own.rollback()
            finally:
                own.close()
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _bulk(chunk, barrier=None, changes=None):
    def work(own, subject_ids):
        subjects = [own.get(Subject, i) for i in subject_ids]
        wait = (lambda _n: barrier.wait(timeout=20)) if barrier else None
        record_many(own, [Submission(s, changes or {"email": "granted", "sms": "refused", "post": "granted"},
                                     Source.IMPORT, Actor.system()) for s in subjects], chunk=chunk, progress=wait)
    return work


def _event_ids_by_subject(session):
    found = {}
    for subject_id, event_id, seq in session.execute(select(ConsentEvent.subject_id, ConsentEvent.id,
                                                            ConsentEvent.seq).order_by(ConsentEvent.id)):
        found.setdefault(subject_id, []).append((event_id, seq))
    return found


@pytest.mark.postgres
def test_postgres_two_bulk_imports_at_once_on_other_subjects_interleave_their_ids_and_keep_each_chain(
        app, session, runner):
    postgres_only(session)
    ids = [_subject(session, f"t{i}@example.com").id for i in range(40)]
    session.commit()
    barrier, errors = threading.Barrier(2), []
    threads = [_in_thread(app, _bulk(5, barrier), errors, ids[:20]),
               _in_thread(app, _bulk(5, barrier), errors, ids[20:])]
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    by_subject = _event_ids_by_subject(session)
    first = [e for s in ids[:20] for e, _ in by_subject[s]]
    second = [e for s in ids[20:] for e, _ in by_subject[s]]
    assert min(first) < max(second) and min(second) < max(first)  # the two drew ids side by side
    assert all([seq for _, seq in events] == list(range(1, len(events) + 1)) for events in by_subject.values())
    assert_ledger_consistent(session)
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0


@pytest.mark.postgres
def test_postgres_two_bulk_imports_of_the_same_subjects_take_turns(app, session, runner):
    postgres_only(session)
    ids = [_subject(session, f"t{i}@example.com").id for i in range(30)]
    session.commit()
    errors = []
    threads = [_in_thread(app, _bulk(4), errors, ids),
               _in_thread(app, _bulk(7, changes={"email": "withdrawn", "newsletter": "granted"}), errors, ids)]
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert_ledger_consistent(session)
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0


@pytest.mark.postgres
def test_postgres_two_imports_meeting_the_same_contacts_in_other_chunks_take_turns(app, session, runner):
    """Each chunk locks its subjects in id order, held to the end of the import's transaction: two
    imports of files listing known contacts in opposite orders, a chunk each, would wait on each
    other in a cycle (PostgreSQL aborts one). Imports take turns instead."""
    postgres_only(session)
    numbers = list(range(6))

    def rows(order, status, collected):
        return io.StringIO("external_ref,email,consent_email,evidence,collected_at\n"
                           + "".join(f"ref{i},c{i}@example.com,{status},paper form,{collected}\n" for i in order))

    with freeze_time("2026-01-10 12:00:00"):
        assert not import_contacts(session, rows(numbers, "granted", "2026-01-05"), actor=Actor.system()).errors
        session.commit()
    barrier, errors = threading.Barrier(2), []

    def importing(order, status, collected):
        def work(own, _):
            def meet(_n):  # after the first chunk, wait for the other import (it may be waiting its turn)
                try:
                    barrier.wait(timeout=2)
                except threading.BrokenBarrierError:
                    pass
            report = import_contacts(own, rows(order, status, collected), actor=Actor.system(), chunk=1,
                                     progress=meet)
            assert not report.errors and report.changed + report.unchanged == len(order), report
            done.append(report.changed)
        return work

    done = []
    with freeze_time("2026-02-01 12:00:00"):  # both files newer than the center's states
        threads = [_in_thread(app, importing(numbers, "withdrawn", "2026-01-20"), errors, None),
                   _in_thread(app, importing(numbers[::-1], "refused", "2026-01-21"), errors, None)]
        for thread in threads:
            thread.join(60)
    assert not errors, [type(e).__name__ + ": " + str(e).splitlines()[0] for e in errors]
    assert sorted(done) == [0, 6]  # the first changed every contact; the second found the center newer
    assert_ledger_consistent(session)
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0


@pytest.mark.postgres
def test_postgres_a_bulk_beside_single_writes_on_the_same_subjects(app, session, runner):
    postgres_only(session)
    ids = [_subject(session, f"t{i}@example.com").id for i in range(24)]
    session.commit()
    errors, done = [], threading.Event()

    def singles(own, subject_ids):
        n = 0
        while not done.is_set() or n < 24:
            subject = own.get(Subject, subject_ids[n % len(subject_ids)])
            record_change(own, subject, {"sms": "granted" if n % 2 else "withdrawn"}, source=Source.API,
                          actor=Actor.system())
            own.commit()
            n += 1

    def bulk(own, subject_ids):
        try:
            for round_ in range(3):
                subjects = [own.get(Subject, i) for i in subject_ids]
                record_many(own, [Submission(s, {"email": ("granted", "withdrawn")[(round_ + k) % 2],
                                                 "newsletter": "granted"}, Source.IMPORT, Actor.system())
                                  for k, s in enumerate(subjects)], chunk=5)
                own.commit()
        finally:
            done.set()

    threads = [_in_thread(app, singles, errors, ids[::-1]), _in_thread(app, bulk, errors, ids)]
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    by_subject = _event_ids_by_subject(session)
    assert all([seq for _, seq in events] == list(range(1, len(events) + 1)) for events in by_subject.values())
    assert_ledger_consistent(session)
    assert integrate(session) == session.scalar(select(func.count()).select_from(ConsentEvent))
    session.commit()
    assert_log_is_the_rfc_tree(session)
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0


# --- 10. PgBouncer in transaction mode: COPY through it ---------------------------------------------

from .test_pgbouncer import PGBOUNCER, _app, bouncer_url, direct_url, migrated  # noqa: F401 (fixtures)


@pytest.fixture
def bouncer_app(bouncer_url, migrated):  # noqa: F811
    app = _app(bouncer_url, migrated)
    with app.app_context():
        yield app
        db.session.remove()
    db.dispose()


@pytest.mark.postgres
@pytest.mark.skipif(PGBOUNCER is None, reason="pgbouncer is not installed")
def test_postgres_bulk_by_copy_and_the_log_s_integration_through_pgbouncer_transaction_mode(bouncer_app):
    from consent_center.ledger.checkpoints import make_checkpoint

    session = db.session
    add_endpoint(session, "https://hooks.example.com/bouncer")
    session.commit()
    tag = uuid.uuid4().hex[:8]
    for round_ in range(8):  # past psycopg's prepare threshold, each transaction on another server connection
        subjects = [_subject(session, f"{tag}-{round_}-{i}@example.com") for i in range(6)]
        record_many(session, [Submission(s, {"email": "granted", "sms": "refused"}, Source.IMPORT, Actor.system())
                              for s in subjects], chunk=4)
        session.commit()
        record_many(session, [Submission(s, {"email": "withdrawn"}, Source.IMPORT, Actor.system())
                              for s in subjects], chunk=4)
        session.commit()
        make_checkpoint(session, force=True)
        session.commit()
    assert_ledger_consistent(session)
    assert_log_is_the_rfc_tree(session)
    assert session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "webhook")) \
        == session.scalar(select(func.count()).select_from(Receipt))


@pytest.mark.postgres
def test_postgres_two_integrators_beside_bulk_writers_give_every_event_one_leaf(app, session):
    """Integrators take turns on log_state's row; their COPYs never give an index or an event twice."""
    postgres_only(session)
    ids = [_subject(session, f"i{i}@example.com").id for i in range(40)]
    session.commit()
    errors, stop = [], threading.Event()

    def integrator(own, _):
        while not stop.is_set():
            integrate(own, batch=7)
            own.commit()
        integrate(own, batch=7)

    def writer(own, subject_ids):
        try:
            for round_ in range(4):
                subjects = [own.get(Subject, i) for i in subject_ids]
                record_many(own, [Submission(s, {"email": ("granted", "withdrawn")[round_ % 2]}, Source.IMPORT,
                                             Actor.system()) for s in subjects], chunk=6)
                own.commit()
        finally:
            stop.set()

    threads = [_in_thread(app, integrator, errors, None), _in_thread(app, integrator, errors, None),
               _in_thread(app, writer, errors, ids[:20]), _in_thread(app, writer, errors, ids[20:])]
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert integrate(session) == session.scalar(select(func.count()).select_from(ConsentEvent)) == 160
    session.commit()
    assert_log_is_the_rfc_tree(session)
