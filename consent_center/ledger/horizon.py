"""PostgreSQL: the transaction id below which every transaction of this database has ended.

Events commit in any order on PostgreSQL, so the change feed (feed.py) and
the transparency log (transparency.py) serve or integrate, in ``(txid, id)``
order, only events of transactions that have ended: nothing can then commit
behind a cursor or the log's end. ``pg_snapshot_xmin`` would give that
horizon for the whole server: a transaction left open in another database
on it (an analytics session, a migration, another application) would hold
our feed and log back for as long as it runs. Only this database's
transactions can write events, so the horizon is the snapshot's xmax (any
transaction given an id later is above it), lowered to the oldest of this
database's transactions still running (a prepared one included).
"""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

_XMAX = text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
_OLDEST_RUNNING_HERE = text(
    "SELECT min(xid) FROM ("
    " SELECT backend_xid::text::bigint AS xid FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
    " UNION ALL SELECT transaction::text::bigint FROM pg_prepared_xacts WHERE database = current_database()"
    ") AS running")


def database_horizon(session: Session) -> int:
    """Every transaction of this database with a txid below the answer has ended.

    Read the xmax first, then the transactions still running: one that ends
    between the two reads has committed (or rolled back) before any later
    statement of the caller, which therefore sees it. Read once per
    transaction: PostgreSQL keeps ``pg_stat_activity`` as the transaction
    first read it.
    """
    xmax = session.scalar(_XMAX)
    running = session.scalar(_OLDEST_RUNNING_HERE)
    if running is None:
        return xmax
    # backend_xid is a 32-bit xid, txid its 64-bit form: compare within the current epoch.
    running += xmax - (xmax & 0xFFFFFFFF) - (0x100000000 if (running > (xmax & 0xFFFFFFFF)) else 0)
    return min(xmax, running)
