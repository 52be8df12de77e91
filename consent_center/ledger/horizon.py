"""PostgreSQL: the transaction id below which every transaction of this database has ended.

Events commit in any order on PostgreSQL, so the change feed (feed.py) and
the transparency log (transparency.py) serve or integrate, in ``(txid, id)``
order, only events of transactions that have ended: nothing can then commit
behind a cursor or the log's end. ``pg_snapshot_xmin`` gives that horizon for
the whole server: a transaction left open in another database on it (an
analytics session, a migration, another application) would hold our feed
and log back for as long as it runs.

So the horizon is taken from the statement's own snapshot: its xmax, lowered
to the oldest transaction the snapshot sees running, except those known to
belong to another database (their sessions or prepared transactions there;
they cannot write our events). A transaction of unknown origin holds the
horizon back, which only delays. One statement and one snapshot: whatever
the isolation level, a transaction the snapshot saw running is below the
horizon's reach, and one below it had ended when the snapshot was taken.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, literal_column, text
from sqlalchemy.orm import Session

# xid8 (64 bits) and the 32-bit xid of pg_stat_activity compare on their low 32 bits:
# running transactions are never 2^31 apart, so the same low bits are the same transaction.
HORIZON_SQL = """
SELECT LEAST(pg_snapshot_xmax(snapshot)::text::bigint,
             (SELECT min(running::text::bigint) FROM pg_snapshot_xip(snapshot) AS running
              WHERE running::text::bigint % 4294967296 NOT IN (
                  SELECT backend_xid::text::bigint FROM pg_stat_activity
                  WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()
                  UNION ALL
                  SELECT transaction::text::bigint FROM pg_prepared_xacts
                  WHERE database <> current_database())))
FROM (SELECT pg_current_snapshot() AS snapshot) AS now
"""
# For a statement that filters by it: the horizon of that statement's own snapshot, in the same round trip.
HORIZON = literal_column(f"({HORIZON_SQL})", BigInteger)


def database_horizon(session: Session) -> int:
    """Every transaction of this database with a txid below the answer has ended."""
    return session.scalar(text(HORIZON_SQL))
