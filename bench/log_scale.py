"""The transparency log by size, on SQLite and PostgreSQL alternated: no false alarm, and its times.

    python bench/log_scale.py --postgres-server postgresql+psycopg://postgres@127.0.0.1:5432 \\
        [--sizes 100000,1000000] [--repeats 3] [--proofs 200] [--no-sqlite]
    python bench/log_scale.py --base postgresql+psycopg://…/cc_app_bench_5000000_20000000 --repeats 1

For each size, a base on each database (a new SQLite file; a new
PostgreSQL database on the server; both removed after) is seeded through
the ledger's bulk path (bench/seed.py: ten events a subject by default,
receipts signed), a checkpoint is signed and held outside (a file), and
``flask ledger verify --checkpoint FILE`` must find nothing: no false
alarm. Then each measure is taken ``--repeats`` times, the databases
alternated: the log emptied and every event integrated again with a
checkpoint signed (``make_checkpoint``), inclusion proofs of random events,
consistency proofs from random sizes. Every proof is checked by
tests/test_merkle.py's verifier, written from RFC 9162 apart from the
module that made it.
"""
from __future__ import annotations

import argparse
import random
import secrets
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repository's package, not an installed one
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from bench.seed import seed  # noqa: E402
from consent_center import create_app  # noqa: E402
from consent_center.extensions import db  # noqa: E402
from consent_center.ledger import append_only  # noqa: E402
from consent_center.ledger.checkpoints import latest_checkpoint, make_checkpoint  # noqa: E402
from consent_center.ledger.transparency import consistency_proof, inclusion_proof, leaf_data  # noqa: E402
from consent_center.models import ConsentEvent, LogLeaf  # noqa: E402
from tests.test_merkle import rfc_verify_consistency, rfc_verify_inclusion  # noqa: E402


class Base:
    """One database of the bench: its app, and what it measured."""

    def __init__(self, name: str, url: str, folder: Path):
        self.name, self.url = name, url
        self.app = create_app({"DATABASE_URL": url, "SECRET_KEY": secrets.token_urlsafe(32),
                               "RECEIPT_KEY_DIR": str(folder / f"{name}-receipt_keys"),
                               "CHECKPOINT_KEY_DIR": str(folder / f"{name}-checkpoint_keys")})
        self.folder = folder
        self.engines = (db.engine, db.read_engine)

    @contextmanager
    def active(self):
        """This base's app and engines: ``db`` holds one app's at a time (the last built)."""
        db.session.remove()
        db.engine, db.read_engine = self.engines
        db.session_factory.configure(bind=db.engine)
        with self.app.app_context():
            yield

    def cli(self, *args):
        with self.active():
            try:
                return self.app.test_cli_runner().invoke(args=list(args))
            finally:
                db.session.remove()

    def run(self, function, *args):
        with self.active():
            try:
                return function(db.session, *args)
            finally:
                db.session.remove()


def prepare(base: Base, subjects: int, events: int) -> None:
    """Migrate, seed, hold a checkpoint outside and require ``ledger verify --checkpoint`` to find nothing."""
    upgraded = base.cli("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output

    def seeded(session):
        counts = seed(session, subjects, events)
        session.commit()
        return counts

    started = time.perf_counter()
    counts = base.run(seeded)
    print(f"{base.name}: seeded {counts['events']:,} events of {subjects:,} subjects "
          f"in {time.perf_counter() - started:.0f} s", flush=True)
    signed = base.cli("ledger", "checkpoint", "--force")
    assert "checkpoint signed" in signed.output, (signed.output, signed.exception)
    held = base.folder / f"{base.name}-held.txt"
    held.write_text(base.run(lambda session: latest_checkpoint(session).note))
    started = time.perf_counter()
    verified = base.cli("ledger", "verify", "--checkpoint", str(held))
    took = time.perf_counter() - started
    if verified.exit_code != 0 or "BROKEN" in verified.output:
        raise SystemExit(f"{base.name}: FALSE ALARM on the honest base:\n{verified.output}")
    lines = [line for line in verified.output.splitlines() if line.startswith(("chains:", "log:", "OK:"))]
    print(f"{base.name}: ledger verify --checkpoint: no finding ({took:.1f} s)\n  " + "\n  ".join(lines), flush=True)


def reintegrate(session) -> float:
    """Empty the log, then integrate every event and sign a checkpoint; return the seconds."""
    with append_only.lifted(session.connection()):  # the log's tables are append-only (migration 0023)
        for statement in ("DELETE FROM log_checkpoints", "DELETE FROM log_nodes", "DELETE FROM log_leaves",
                          "UPDATE log_state SET size = 0, last_txid = 0, last_event_id = 0"):
            session.execute(text(statement))
    session.commit()
    started = time.perf_counter()
    size, signed = make_checkpoint(session, force=True)
    session.commit()
    took = time.perf_counter() - started
    assert signed is not None and size == session.scalar(select(func.count()).select_from(ConsentEvent))
    return took


def inclusion_times(session, proofs: int) -> list[float]:
    size = latest_checkpoint(session).tree_size
    root = latest_checkpoint(session).root_hash
    indexes = random.Random(size).sample(range(size), min(proofs, size))
    events = dict(session.execute(select(LogLeaf.index, ConsentEvent.public_id)
                                  .join(ConsentEvent, ConsentEvent.id == LogLeaf.event_id)
                                  .where(LogLeaf.index.in_(indexes))).all())
    session.rollback()
    timings = []
    for index in indexes:
        started = time.perf_counter()
        proof = inclusion_proof(session, events[index], size)
        timings.append(time.perf_counter() - started)
        assert rfc_verify_inclusion(proof.leaf_index, size, leaf_data(proof.event_hash), proof.path, root)
    return timings


def consistency_times(session, proofs: int) -> list[float]:
    size = latest_checkpoint(session).tree_size
    root = latest_checkpoint(session).root_hash
    firsts = random.Random(size + 1).sample(range(1, size), min(proofs, size - 1))
    timings = []
    for first in firsts:
        started = time.perf_counter()
        proof = consistency_proof(session, first, size)
        timings.append(time.perf_counter() - started)
        assert proof.second_root == root
        assert rfc_verify_consistency(first, size, proof.first_root, root, proof.path)
    return timings


def spread(values: list[float], unit: float, digits: int) -> str:
    return (f"{statistics.median(values) * unit:.{digits}f} ({min(values) * unit:.{digits}f}–"
            f"{max(values) * unit:.{digits}f})")


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def measure(bases: list[Base], size: int, repeats: int, proofs: int) -> list[tuple]:
    """Each measure ``repeats`` times, the bases alternated; one table row a base."""
    measured = {base.name: {"integrate": [], "inclusion": [], "consistency": [], "load": []} for base in bases}
    for repeat in range(repeats):
        for base in bases:
            got = measured[base.name]
            got["load"].append(load())
            got["integrate"].append(base.run(reintegrate))
            got["inclusion"].extend(base.run(inclusion_times, proofs))
            got["consistency"].extend(base.run(consistency_times, proofs))
            print(f"{base.name} {size:,} #{repeat + 1}: integrate + sign {got['integrate'][-1]:.1f} s "
                  f"(load {got['load'][-1]})", flush=True)
    return [(base.name, size, spread(measured[base.name]["integrate"], 1, 1),
             spread(measured[base.name]["inclusion"], 1000, 2), spread(measured[base.name]["consistency"], 1000, 2),
             "; ".join(measured[base.name]["load"])) for base in bases]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="events of each base, comma-separated")
    parser.add_argument("--events-per-subject", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--proofs", type=int, default=200, help="inclusion and consistency proofs a repeat")
    parser.add_argument("--postgres-server", default=None, help="postgresql+psycopg://user@host:port")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--base", default=None, metavar="DATABASE_URL",
                        help="measure a base seeded before (bench/run.sh BENCH_STEP=seed), kept as it is but its log")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="log-scale-"))
    if args.base:
        base = Base("PostgreSQL" if args.base.startswith("postgresql") else "SQLite", args.base, folder)
        size = base.run(lambda session: session.scalar(select(func.count()).select_from(ConsentEvent)))
        print_table(measure([base], size, args.repeats, args.proofs), args.proofs)
        return 0
    admin = (create_engine(f"{args.postgres_server}/postgres", isolation_level="AUTOCOMMIT")
             if args.postgres_server else None)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        bases, name = [], f"cc_log_scale_{secrets.token_hex(4)}"
        if not args.no_sqlite:
            bases.append(Base("SQLite", f"sqlite:///{folder / f'{size}.sqlite3'}", folder))
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f"CREATE DATABASE {name}"))
            bases.append(Base("PostgreSQL", f"{args.postgres_server}/{name}", folder))
        try:
            for base in bases:
                prepare(base, size // args.events_per_subject, size)
            rows.extend(measure(bases, size, args.repeats, args.proofs))
        finally:
            for base in bases:
                for engine in set(base.engines):
                    engine.dispose()
            for path in folder.glob(f"{size}.sqlite3*"):
                path.unlink()
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    if admin is not None:
        admin.dispose()
    print_table(rows, args.proofs)
    return 0


def print_table(rows: list[tuple], proofs: int) -> None:
    print("\n| database | events | integrate all + sign, s | inclusion proof, ms | consistency proof, ms "
          "| load (1, 5, 15 min) at each repeat |")
    print("|---|---:|---:|---:|---:|---|")
    for row in rows:
        print(f"| {row[0]} | {row[1]:,} | {row[2]} | {row[3]} | {row[4]} | {row[5]} |")
    print("\nmedian (min–max): integration over the repeats, proofs over every one timed "
          f"({proofs} a repeat), each checked by the RFC 9162 verifier of tests/test_merkle.py")


if __name__ == "__main__":
    raise SystemExit(main())
