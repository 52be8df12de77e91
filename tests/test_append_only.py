"""The database itself refuses to change or remove consent events (migration 0004)."""
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from consent_center.ledger import append_only
from consent_center import create_app
from consent_center.extensions import db, make_engine
from consent_center.ledger import Actor
from consent_center.migrate import upgrade
from consent_center.subjects.service import create_subject


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request, tmp_path):
    """A migrated database of each engine, whatever the suite's backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/ledger.sqlite3"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    databases = request.getfixturevalue("postgres_databases")
    url = databases.create()
    yield url
    databases.drop(url)


@pytest.fixture
def seeded(ledger_url, tmp_path):
    """The URL of a database holding a few real events."""
    app = create_app({"TESTING": True, "DATABASE_URL": ledger_url, "RECEIPT_KEY_DIR": str(tmp_path / "keys")})
    with app.app_context():
        create_subject(db.session, actor=Actor.system(), email="a@example.com", is_customer=True)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return ledger_url


def refused(url: str, sql: str, events: int = 4) -> str:
    """Run ``sql``, expect the database to refuse it, and check every event is still there."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            with pytest.raises(DBAPIError) as caught:
                connection.execute(text(sql))
            connection.rollback()
            assert connection.execute(text("SELECT count(*) FROM consent_events")).scalar() == events
    finally:
        engine.dispose()
    return str(caught.value)


@pytest.mark.parametrize("sql", [
    "UPDATE consent_events SET status = 'granted'",
    "UPDATE consent_events SET hash = 'x' WHERE seq = 2",
    "DELETE FROM consent_events",
    "DELETE FROM consent_events WHERE seq = 4",
])
def test_the_database_refuses_to_update_or_delete_events(seeded, sql):
    assert "append-only" in refused(seeded, sql)


def test_postgres_refuses_truncate_too(postgres_databases):
    url = postgres_databases.create()
    try:
        assert "append-only" in refused(url, "TRUNCATE consent_events CASCADE", events=0)
    finally:
        postgres_databases.drop(url)


def test_appending_still_works_with_the_triggers_in_place(session):
    subject = create_subject(session, actor=Actor.system(), email="b@example.com")
    session.commit()
    assert session.execute(text("SELECT count(*) FROM consent_events WHERE subject_id = :s"),
                           {"s": subject.id}).scalar() == 4


def test_lifting_the_triggers_is_undone_at_the_end_of_the_block(seeded):
    engine = create_engine(seeded)
    try:
        with engine.begin() as connection:
            with append_only.lifted(connection):
                connection.execute(text("UPDATE consent_events SET basis = 'consent' WHERE seq = 1"))
        with engine.connect() as connection, pytest.raises(DBAPIError):
            connection.execute(text("UPDATE consent_events SET basis = 'consent' WHERE seq = 1"))
    finally:
        engine.dispose()
