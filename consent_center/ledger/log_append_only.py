"""Database triggers that make the transparency log's tables append-only (migration 0023).

What is written once never changes: a leaf (``log_leaves``: which event is at
which index), a stored perfect subtree (``log_nodes``: complete subtrees only,
so a stored hash is final), a signed checkpoint (``log_checkpoints``). They
refuse UPDATE and DELETE, on SQLite and PostgreSQL (TRUNCATE too there).

The one row of ``log_state`` is the integrator's cursor and lock: each
integration updates it (ledger/transparency.py), to the same size to take the
lock, then to the new size. So UPDATE is allowed there as long as the size
does not shrink and the row stays row 1; DELETE (and TRUNCATE) is refused.
The cursor itself (``last_txid``, ``last_event_id``) may move either way: an
event integrated twice would break ``log_leaves``' unique ``event_id``.

These triggers make tampering cost a DBA a ``DROP TRIGGER``, as for the
events (append_only.py, which lifts both sets in ``lifted``); the log is
still checked against checkpoints held outside (log_check.py), which no
trigger has to be trusted for. This SQL is part of a migration: change it
only together with a new migration that drops and re-creates them.
"""
from __future__ import annotations

from sqlalchemy.engine import Connection

FROZEN = ("log_leaves", "log_nodes", "log_checkpoints")
STATE = "log_state"
# SQLite's INSERT OR REPLACE deletes the row in the way without firing its DELETE trigger (unless
# recursive_triggers is on): an insert whose keys are taken is refused first. (PostgreSQL's
# INSERT … ON CONFLICT DO UPDATE fires the UPDATE triggers.)
TAKEN = {
    "log_leaves": "idx = NEW.idx OR event_id = NEW.event_id",
    "log_nodes": "level = NEW.level AND idx = NEW.idx",
    "log_checkpoints": "id = NEW.id OR tree_size = NEW.tree_size",
    "log_state": "id = NEW.id",
}
MESSAGE = "is append-only"
SHRINK = "log_state only grows: an UPDATE that lowers its size or changes its id refused"


def _sqlite_install() -> list[str]:
    statements = []
    for table in FROZEN:
        for op in ("UPDATE", "DELETE"):
            statements.append(f"""CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table}
            BEGIN SELECT RAISE(ABORT, '{table} {MESSAGE}: {op} refused'); END""")
    statements += [
        f"""CREATE TRIGGER {STATE}_no_delete BEFORE DELETE ON {STATE}
        BEGIN SELECT RAISE(ABORT, '{STATE} {MESSAGE}: DELETE refused'); END""",
        f"""CREATE TRIGGER {STATE}_no_shrink BEFORE UPDATE ON {STATE}
        WHEN NEW.size < OLD.size OR NEW.id <> OLD.id
        BEGIN SELECT RAISE(ABORT, '{SHRINK}'); END""",
    ]
    for table, taken in TAKEN.items():
        statements.append(f"""CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table}
        WHEN EXISTS (SELECT 1 FROM {table} WHERE {taken})
        BEGIN SELECT RAISE(ABORT, '{table} {MESSAGE}: INSERT over a row already there refused'); END""")
    return statements


def _sqlite_drop() -> list[str]:
    names = [f"{table}_no_{op}" for table in FROZEN for op in ("update", "delete")]
    names += [f"{STATE}_no_delete", f"{STATE}_no_shrink", *(f"{table}_no_replace" for table in TAKEN)]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in names]


_POSTGRES_FUNCTIONS = [
    f"""CREATE FUNCTION log_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' {MESSAGE}: ' || TG_OP || ' refused';
    END
    $$""",
    f"""CREATE FUNCTION log_state_refuse_shrink() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION USING MESSAGE = '{SHRINK}';
    END
    $$""",
]


def _postgres_install() -> list[str]:
    statements = list(_POSTGRES_FUNCTIONS)
    for table in FROZEN:
        statements.append(f"""CREATE TRIGGER {table}_no_update_or_delete BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION log_refuse_change()""")
    for table in (*FROZEN, STATE):
        statements.append(f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION log_refuse_change()""")
    statements += [
        f"""CREATE TRIGGER {STATE}_no_delete BEFORE DELETE ON {STATE}
        FOR EACH ROW EXECUTE FUNCTION log_refuse_change()""",
        f"""CREATE TRIGGER {STATE}_no_shrink BEFORE UPDATE ON {STATE}
        FOR EACH ROW WHEN (NEW.size < OLD.size OR NEW.id <> OLD.id) EXECUTE FUNCTION log_state_refuse_shrink()""",
    ]
    return statements


def _postgres_drop() -> list[str]:
    triggers = ([(table, f"{table}_no_update_or_delete") for table in FROZEN]
                + [(table, f"{table}_no_truncate") for table in (*FROZEN, STATE)]
                + [(STATE, f"{STATE}_no_delete"), (STATE, f"{STATE}_no_shrink")])
    return ([f"DROP TRIGGER IF EXISTS {name} ON {table}" for table, name in triggers]
            + ["DROP FUNCTION IF EXISTS log_refuse_change()", "DROP FUNCTION IF EXISTS log_state_refuse_shrink()"])


def _statements(dialect: str) -> tuple[list[str], list[str]]:
    if dialect == "sqlite":
        return _sqlite_install(), _sqlite_drop()
    if dialect == "postgresql":
        return _postgres_install(), _postgres_drop()
    raise NotImplementedError(f"no append-only triggers for {dialect}")


def install(connection: Connection) -> None:
    """Create the triggers that keep the log's tables append-only."""
    for statement in _statements(connection.dialect.name)[0]:
        connection.exec_driver_sql(statement)


def remove(connection: Connection) -> None:
    """Drop them (migration downgrade; append_only.lifted, for tests and benches that tamper)."""
    for statement in _statements(connection.dialect.name)[1]:
        connection.exec_driver_sql(statement)
