"""The schema changes only through migrations, and they agree with the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select

from consent_center.db import Base
from consent_center.extensions import db
from consent_center.models import Channel


def test_models_and_migrations_agree(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_migrations_seed_the_four_channels(session):
    codes = session.scalars(select(Channel.code).order_by(Channel.position)).all()
    assert codes == ["email", "sms", "post", "newsletter"]
    for channel in session.scalars(select(Channel)):
        assert set(channel.names) == {"fr", "nl", "en"}
        assert set(channel.purposes) == {"fr", "nl", "en"}


def test_db_upgrade_creates_the_schema_on_an_empty_sqlite_file(tmp_path):
    from consent_center import create_app

    url = f"sqlite:///{tmp_path}/fresh.sqlite3"
    app = create_app({"TESTING": True, "DATABASE_URL": url})
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    engine = create_engine(url)
    assert {"subjects", "consent_events", "consent_states", "receipts", "alembic_version"} <= set(
        inspect(engine).get_table_names())
    engine.dispose()


def test_db_upgrade_creates_the_schema_on_an_empty_postgres_database(postgres_databases):
    from consent_center import create_app

    url = postgres_databases.create_empty()
    try:
        app = create_app({"TESTING": True, "DATABASE_URL": url})
        result = app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        engine = create_engine(url)
        assert {"subjects", "consent_events", "consent_states", "receipts"} <= set(
            inspect(engine).get_table_names())
        engine.dispose()
        db.engine.dispose()
    finally:
        postgres_databases.drop(url)


def test_the_latest_migration_goes_down_and_up_on_a_database_holding_consents(tmp_path):
    # Tests start from empty databases; a real one holds consents that point
    # at every table a migration may rebuild.
    from alembic.script import ScriptDirectory
    from sqlalchemy import func, text

    from consent_center import create_app
    from consent_center.ledger import Actor, record_change
    from consent_center.migrate import alembic_config, downgrade, upgrade
    from consent_center.models import ConsentEvent, Source
    from consent_center.subjects.service import create_subject

    url = f"sqlite:///{tmp_path}/held.sqlite3"
    app = create_app({"TESTING": True, "DATABASE_URL": url})
    with app.app_context():
        upgrade(db.engine)
        subject = create_subject(db.session, actor=Actor.system(), email="lea@example.com")
        record_change(db.session, subject, {"email": "granted", "sms": "withdrawn"},
                      source=Source.API, actor=Actor.system())
        db.session.commit()
        events = db.session.scalar(select(func.count()).select_from(ConsentEvent))
        db.session.remove()

        script = ScriptDirectory.from_config(alembic_config(db.engine))
        previous = script.get_revision(script.get_current_head()).down_revision
        downgrade(db.engine, previous)
        upgrade(db.engine)

        assert db.session.scalar(select(func.count()).select_from(ConsentEvent)) == events
        db.session.remove()
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
        db.engine.dispose()
