"""The database refuses to change or remove what the transparency log wrote (migration 0023):
its leaves, stored subtree hashes and checkpoints; its state may only grow."""
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from consent_center import create_app
from consent_center.extensions import db
from consent_center.ledger import Actor, append_only, record_change
from consent_center.ledger.checkpoints import make_checkpoint
from consent_center.models import Source
from consent_center.subjects.service import create_subject

from .test_append_only import ledger_url  # noqa: F401  (a migrated database of each engine)

REFUSED = [
    "UPDATE log_leaves SET event_id = event_id WHERE idx = 1",
    "DELETE FROM log_leaves WHERE idx = 4",
    "UPDATE log_nodes SET hash = hash WHERE level = 0 AND idx = 0",
    "DELETE FROM log_nodes WHERE level = 1",
    "UPDATE log_checkpoints SET note = 'forged'",
    "DELETE FROM log_checkpoints",
    "DELETE FROM log_state",
    "UPDATE log_state SET size = 0, last_txid = 0, last_event_id = 0",
    "UPDATE log_state SET id = 2",
    # PostgreSQL's upsert fires the UPDATE triggers.
    "INSERT INTO log_nodes (level, idx, hash) SELECT level, idx, hash FROM log_nodes WHERE level = 0 AND idx = 0 "
    "ON CONFLICT (level, idx) DO UPDATE SET hash = excluded.hash",
]
# SQLite's REPLACE deletes the row in the way without firing its DELETE trigger: refused before.
REPLACED = [
    "REPLACE INTO log_nodes (level, idx, hash) SELECT level, idx, zeroblob(32) FROM log_nodes WHERE level = 0",
    "INSERT OR REPLACE INTO log_leaves (idx, event_id) SELECT idx + 100, event_id FROM log_leaves WHERE idx = 0",
    "REPLACE INTO log_checkpoints SELECT id, tree_size, root_hash, key_hash, 'forged', created_at FROM log_checkpoints",
    "REPLACE INTO log_state (id, size, last_txid, last_event_id) VALUES (1, 0, 0, 0)",
    "REPLACE INTO consent_events SELECT * FROM consent_events WHERE seq = 1",
]


@pytest.fixture
def logged(ledger_url, tmp_path):  # noqa: F811
    """A migrated database whose log holds a few events and one signed checkpoint."""
    app = create_app({"TESTING": True, "DATABASE_URL": ledger_url, "RECEIPT_KEY_DIR": str(tmp_path / "keys"),
                      "CHECKPOINT_KEY_DIR": str(tmp_path / "checkpoint_keys")})
    with app.app_context():
        subject = create_subject(db.session, actor=Actor.system(), email="a@example.com", is_customer=True)
        record_change(db.session, subject, {"newsletter": "granted"}, source=Source.API, actor=Actor.system())
        db.session.commit()  # PostgreSQL: the log takes committed events only
        size, signed = make_checkpoint(db.session, force=True)
        assert signed is not None and size >= 5
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return ledger_url


def counts(connection):
    return tuple(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                 for table in ("log_leaves", "log_nodes", "log_checkpoints", "log_state"))


def test_the_log_refuses_every_change_but_growth_and_lifting_drops_the_triggers(logged):
    engine = create_engine(logged)
    truncates = [f"TRUNCATE {table}" for table in ("log_leaves", "log_nodes", "log_checkpoints", "log_state")]
    try:
        with engine.connect() as connection:
            before = counts(connection)
            size = connection.execute(text("SELECT size FROM log_state")).scalar()
            connection.rollback()
            extra = truncates if engine.dialect.name == "postgresql" else REPLACED
            events = connection.execute(text("SELECT count(*) FROM consent_events")).scalar()
            connection.rollback()
            for statement in REFUSED + extra:
                with pytest.raises(DBAPIError) as caught:
                    connection.execute(text(statement))
                connection.rollback()
                assert "append-only" in str(caught.value) or "only grows" in str(caught.value), statement
            assert counts(connection) == before
            assert connection.execute(text("SELECT count(*) FROM consent_events")).scalar() == events
            # What the integrator does: the same size to take the lock, a larger one to grow.
            connection.execute(text("UPDATE log_state SET size = size"))
            connection.execute(text("UPDATE log_state SET size = :n, last_event_id = 0"), {"n": size + 1})
            connection.rollback()
        # As a DBA could: dropped, the tables take anything; put back, they refuse again.
        with engine.begin() as connection:
            with append_only.lifted(connection):
                connection.execute(text("DELETE FROM log_checkpoints"))
                connection.execute(text("UPDATE log_state SET size = 0"))
        with engine.connect() as connection:
            assert counts(connection)[2] == 0
            with pytest.raises(DBAPIError):
                connection.execute(text("DELETE FROM log_leaves"))
    finally:
        engine.dispose()
