import sys
import time

import click
from sqlalchemy import text

from consent_center.bench_seed import SeedError, seed
from consent_center.extensions import db
from consent_center.cli.support import committing, fail


@click.group("bench", help="Benchmark support.")
def group() -> None:
    pass


@group.command("seed")
@click.option("--subjects", default=100_000, show_default=True)
@click.option("--events", default=1_000_000, show_default=True, help="About this many events in all.")
def seed_command(subjects: int, events: int) -> None:
    """Fill an empty database with a realistic base (valid hash chains)."""
    started = time.perf_counter()
    try:
        with click.progressbar(length=subjects, label="Seeding", file=sys.stderr, show_pos=True) as bar, \
                committing() as session:
            counts = seed(session, subjects, events, progress=bar.update)
    except SeedError as exc:
        fail(str(exc))
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE) subjects, consent_states, consent_events, receipts"))
    else:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    click.echo(f"Seeded {counts['subjects']} subjects, {counts['events']} events, {counts['receipts']} receipts "
               f"in {time.perf_counter() - started:.1f} s.")
