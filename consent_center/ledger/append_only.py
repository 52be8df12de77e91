"""Database triggers that make ``consent_events`` append-only.

The hash chain *detects* an edit, a deletion or a reordering; these
triggers *refuse* them, on SQLite and PostgreSQL (TRUNCATE too there).
Migration 0004 installs them with ``install``; tests that must tamper with
the ledger (to prove ``ledger verify`` catches it) lift them with
``lifted`` and put them back, with those of the transparency log's tables
(log_append_only.py, migration 0023). This SQL is part of a migration: change it
only together with a new migration that drops and re-creates them.

SQLite drops a table's triggers with the table, and Alembic's batch mode
rebuilds a table to alter it: a migration that alters ``consent_events``
in batch mode must call ``install`` again afterwards (a test checks that
the migrated schema refuses UPDATE and DELETE).
"""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy.engine import Connection

from consent_center.ledger import log_append_only

MESSAGE = "consent_events is append-only"

_SQLITE_INSTALL = [
    f"""CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE refused'); END""",
    f"""CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}: DELETE refused'); END""",
    # INSERT OR REPLACE deletes the event in the way without firing the DELETE trigger (unless
    # recursive_triggers is on): an insert over any of an event's keys is refused first (0023).
    f"""CREATE TRIGGER consent_events_no_replace BEFORE INSERT ON consent_events
    WHEN EXISTS (SELECT 1 FROM consent_events WHERE id = NEW.id OR public_id = NEW.public_id
                 OR (subject_id = NEW.subject_id AND seq = NEW.seq))
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}: INSERT over an event already there refused'); END""",
]
_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS consent_events_no_update",
    "DROP TRIGGER IF EXISTS consent_events_no_delete",
    "DROP TRIGGER IF EXISTS consent_events_no_replace",
]

_POSTGRES_INSTALL = [
    f"""CREATE FUNCTION consent_events_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION USING MESSAGE = '{MESSAGE}: ' || TG_OP || ' refused';
    END
    $$""",
    """CREATE TRIGGER consent_events_no_update_or_delete
    BEFORE UPDATE OR DELETE ON consent_events
    FOR EACH ROW EXECUTE FUNCTION consent_events_refuse_change()""",
    """CREATE TRIGGER consent_events_no_truncate
    BEFORE TRUNCATE ON consent_events
    FOR EACH STATEMENT EXECUTE FUNCTION consent_events_refuse_change()""",
]
_POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS consent_events_no_truncate ON consent_events",
    "DROP TRIGGER IF EXISTS consent_events_no_update_or_delete ON consent_events",
    "DROP FUNCTION IF EXISTS consent_events_refuse_change()",
]


def _statements(dialect: str) -> tuple[list[str], list[str]]:
    if dialect == "sqlite":
        return _SQLITE_INSTALL, _SQLITE_DROP
    if dialect == "postgresql":
        return _POSTGRES_INSTALL, _POSTGRES_DROP
    raise NotImplementedError(f"no append-only triggers for {dialect}")


def install(connection: Connection) -> None:
    """Create the triggers that refuse UPDATE and DELETE on consent events."""
    for statement in _statements(connection.dialect.name)[0]:
        connection.exec_driver_sql(statement)


def remove(connection: Connection) -> None:
    """Drop those triggers (migration downgrade, tamper tests)."""
    for statement in _statements(connection.dialect.name)[1]:
        connection.exec_driver_sql(statement)


@contextmanager
def lifted(connection: Connection):
    """Drop the triggers of the events and of the log's tables (log_append_only.py) for the block,
    as a DBA could, then put them back (tests and benches that tamper)."""
    remove(connection)
    log_append_only.remove(connection)
    try:
        yield
    finally:
        install(connection)
        log_append_only.install(connection)
