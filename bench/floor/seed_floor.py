"""Seed the floor's database, deterministically: N subjects
(``user{i}@example.com``) with a state on each of the four channels, and M
events. The floor's tables are dropped and made again.

    python bench/floor/seed_floor.py --database-url URL [--subjects 100000] [--events 1000000]

SQLite: one transaction of executemany; PostgreSQL: COPY, then VACUUM
(ANALYZE). The rows are those of the reference floor, byte for byte in the
export (bench/floor/agree.py compares them).
"""
import argparse
import os
import random
import sqlite3
import sys
import time
from datetime import datetime, timedelta, timezone
from itertools import product

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from floor_app import CHANNELS, DEFAULT_DATABASE_URL, consent_state, events, metadata, subjects  # noqa: E402

from sqlalchemy import create_engine, text  # noqa: E402

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
POLICY_VERSIONS = ("2023-06", "2024-01", "2024-09")  # the first, middle and last third of the events
# SQLAlchemy's own text form of a DateTime on SQLite, so the app reads it back natively.
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


def email_of(i):
    return f"user{i}@example.com"


def expected_granted(i, channel):
    """Subject i's seeded state on a channel (about 60 % granted): what every check must answer."""
    return (i * 31 + CHANNELS.index(channel) * 17) % 5 < 3


def subject_rows(n):
    return ((i, email_of(i)) for i in range(1, n + 1))


def state_rows(n):
    return ((i, channel, expected_granted(i, channel)) for i, channel in product(range(1, n + 1), CHANNELS))


def event_rows(m, n):
    """(id, subject_id, channel, granted, occurred_at, policy_version): seven seconds
    apart from 2024-01-01, random subjects, channels and choices (seed 42)."""
    draw = random.Random(42)
    for i in range(1, m + 1):
        subject = draw.randint(1, n)
        channel = CHANNELS[draw.randrange(len(CHANNELS))]
        granted = draw.random() < 0.6
        yield i, subject, channel, granted, START + timedelta(seconds=7 * i), POLICY_VERSIONS[min(2, 3 * i // (m + 1))]


def _placeholders(table):
    return f"INSERT INTO {table.name} VALUES ({', '.join('?' * len(table.columns))})"


def seed_sqlite(url, n, m):
    path = url.split("sqlite:///", 1)[1]
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    for leftover in (path, path + "-wal", path + "-shm"):
        if os.path.exists(leftover):
            os.remove(leftover)
    metadata.create_all(create_engine(url))
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    with db:
        db.executemany(_placeholders(subjects), subject_rows(n))
        db.executemany(_placeholders(consent_state), state_rows(n))
        db.executemany(_placeholders(events),
                       (row[:4] + (row[4].strftime(SQLITE_TIME), row[5]) for row in event_rows(m, n)))
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def seed_postgres(url, n, m):
    engine = create_engine(url)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cursor:
            for table, rows in ((subjects, subject_rows(n)), (consent_state, state_rows(n)), (events, event_rows(m, n))):
                columns = ", ".join(c.name for c in table.columns)
                with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        raw.driver_connection.commit()
    finally:
        raw.close()
    # Visibility map and statistics from the start: index-only scans, sane plans.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM (ANALYZE) {', '.join(t.name for t in (subjects, consent_state, events))}"))
    engine.dispose()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    (seed_sqlite if args.database_url.startswith("sqlite") else seed_postgres)(
        args.database_url, args.subjects, args.events)
    print(f"floor: {args.subjects} subjects x {len(CHANNELS)} channels and {args.events} events seeded "
          f"in {time.perf_counter() - began:.1f} s ({args.database_url.split(':', 1)[0]})")


if __name__ == "__main__":
    main()
