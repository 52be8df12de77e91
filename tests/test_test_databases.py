"""The test databases on PostgreSQL: dropped by a process of their own, none left behind."""
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from .dbs import PostgresDatabases, postgres_unreachable_reason, postgres_url, wait_for_room


def names_left(url: str, prefix: str) -> list[str]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                {"p": prefix.replace("_", r"\_") + "%"}).scalars().all()
    finally:
        engine.dispose()


@pytest.fixture
def url():
    """The PostgreSQL server's URL; the test skips, saying why, where none answers."""
    server = postgres_url()
    reason = postgres_unreachable_reason(server)
    if reason:
        pytest.skip(reason)
    return server


@pytest.mark.postgres
def test_the_used_copies_the_ready_ones_and_the_template_are_all_dropped_after_close(url):
    dbs = PostgresDatabases(url, batch=2)
    copies = [dbs.create() for _ in range(3)]
    for copy in copies:
        dbs.drop(copy)  # the first two are a batch, dropped while the run goes on; the third waits for close
    assert names_left(url, dbs.template)
    dbs.close()
    deadline = time.monotonic() + 120  # each drop waits for a checkpoint: seconds on a busy server
    while (left := names_left(url, dbs.template)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert left == []


@pytest.mark.postgres
def test_a_run_waits_for_room_on_the_server_and_not_forever(url):
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        assert wait_for_room(admin, share=1) < 0.5  # sweeps cannot hold more than every connection: no wait
        assert 1.0 <= wait_for_room(admin, share=-1, timeout=1.0) < 5  # never room: waits, then goes on
    finally:
        admin.dispose()
