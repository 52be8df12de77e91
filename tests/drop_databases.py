"""Drop test databases, from a process of its own: ``python -m tests.drop_databases PARALLEL NAME...``.

Started by ``tests.dbs.sweep`` for each batch of used copies, so it imports
psycopg alone: a start that imported the package cost 0.8 s of CPU, a third
of the run's sweeping on PostgreSQL. ``CONSENT_TEST_DROP_URL`` is the
server's libpq URI (in the environment: no password on a command line).
"""
from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg


def drop(conninfo: str, parallel: int, names: list[str]) -> list[str]:
    """Drop each database, ``parallel`` at a time (concurrent drops share checkpoints); return those left."""

    def drop_one(name: str) -> bool:
        for attempt in range(3):  # a busy server's connection timeout: try again
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return True
            except psycopg.OperationalError:
                time.sleep(1 + attempt)
        return False

    with ThreadPoolExecutor(parallel, thread_name_prefix="test-database-drop") as pool:
        return [name for name, dropped in zip(names, pool.map(drop_one, names)) if not dropped]


if __name__ == "__main__":
    left = drop(os.environ["CONSENT_TEST_DROP_URL"], int(sys.argv[1]), sys.argv[2:])
    if left:
        print(f"test databases left on the server: {left}", file=sys.stderr)
