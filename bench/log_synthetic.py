"""The transparency log at 1,000,000 and 10,000,000 leaves, built in SQL: proof and checkpoint times.

    nice -n 19 python bench/log_synthetic.py --postgres-server postgresql+psycopg://postgres@127.0.0.1:5432 \\
        [--sizes 1000000,10000000] [--batch 1000] [--repeats 3] [--proofs 200] [--check-only]

Seeding 10,000,000 events through the ledger takes about two hours on this
host, but a proof and a checkpoint read only the log's tables: O(log n)
stored perfect subtrees (ledger/transparency.py). So, in a PostgreSQL
database of its own (created, migrated, dropped after), the log of N
synthetic leaves is written by SQL alone: leaf i's data is
``sha256(SALT || int8(i))`` (32 bytes, as an event's hash is), level 0 of
``log_nodes`` its RFC 9162 leaf hash ``sha256(0x00 || data)``, and each
level above, computed from the one below, ``sha256(0x01 || left || right)``
for every complete pair: exactly the complete subtrees the app stores. The
synthetic leaves of ``log_leaves`` name no event (event ids -1, -2, …: the
foreign key to ``consent_events`` is dropped in this database alone), so the
tables have the size they would have.

First, always, the SQL is checked against the app's own computation on a
small log (``SMALL`` leaves): the stored nodes must be exactly those
``merkle.Frontier`` produces, and ``root_at`` of every prefix the Frontier's
root. At each size the Python Frontier's root of all N leaves is checked
against the stored log too.

Then, on top of the N synthetic leaves, ``--batch`` real consent events are
seeded through the ledger's bulk path (bench/seed.py) and measured:

- **integrate + sign**: ``make_checkpoint`` integrating the batch (indexes
  N … N+batch-1) and signing a checkpoint, ``--repeats`` times (the log cut
  back to N between repeats, triggers lifted, as in this bench's database only);
- **inclusion proofs** of random leaves of the N + batch tree
  (``inclusion_path``, what ``GET /api/v1/log/inclusion`` reads) and of the
  batch's real events by id (``inclusion_proof``);
- **consistency proofs** from random sizes to N + batch.

Every proof is checked by tests/test_merkle.py's RFC 9162 verifier.
"""
from __future__ import annotations

import argparse
import hashlib
import random
import secrets
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repository's package, not an installed one
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, select, text  # noqa: E402

from bench.log_scale import Base, load, spread  # noqa: E402
from bench.seed import seed  # noqa: E402
from consent_center.ledger import append_only, merkle  # noqa: E402
from consent_center.ledger.checkpoints import make_checkpoint  # noqa: E402
from consent_center.ledger.transparency import consistency_proof, inclusion_path, inclusion_proof, leaf_data, root_at  # noqa: E402
from consent_center.models import ConsentEvent, LogLeaf  # noqa: E402
from tests.test_merkle import rfc_verify_consistency, rfc_verify_inclusion  # noqa: E402

SALT = b"consent-center synthetic log leaf"
SMALL = 1029  # past a power of two, odd: incomplete subtrees on several levels
CHUNK = 1_000_000


def synthetic_data(index: int) -> bytes:
    """Leaf ``index``'s data, as the SQL makes it: sha256(SALT || 8-byte big-endian index)."""
    return hashlib.sha256(SALT + index.to_bytes(8, "big")).digest()


def build_log(connection, size: int, progress=print) -> None:
    """Write a log of ``size`` synthetic leaves in SQL: leaves, every complete subtree, the state
    (committed step by step on ``connection``, a connection of its own)."""
    connection.execute(text("ALTER TABLE log_leaves DROP CONSTRAINT IF EXISTS fk_log_leaves_event_id_consent_events"))
    for start in range(0, size, CHUNK):
        end = min(start + CHUNK, size) - 1
        connection.execute(text("INSERT INTO log_leaves (idx, event_id) SELECT i, -1 - i FROM generate_series("
                                "CAST(:a AS bigint), CAST(:b AS bigint)) AS i"), {"a": start, "b": end})
        connection.execute(text(
            "INSERT INTO log_nodes (level, idx, hash) SELECT 0, i, sha256(decode('00', 'hex') || "
            "sha256(CAST(:salt AS bytea) || int8send(i))) FROM generate_series(CAST(:a AS bigint), "
            "CAST(:b AS bigint)) AS i"), {"salt": SALT, "a": start, "b": end})
        connection.commit()
        progress(f"  leaves {end + 1:,} of {size:,}")
    level, count = 0, size
    while count > 1:
        # The complete pairs of this level: node (level + 1, i) covers (level, 2i) and (level, 2i + 1).
        connection.execute(text(
            "INSERT INTO log_nodes (level, idx, hash) SELECT :up, l.idx / 2, sha256(decode('01', 'hex') || l.hash "
            "|| r.hash) FROM log_nodes AS l JOIN log_nodes AS r ON r.level = :level AND r.idx = l.idx + 1 "
            "WHERE l.level = :level AND l.idx % 2 = 0"), {"level": level, "up": level + 1})
        connection.commit()
        level, count = level + 1, count // 2
    connection.execute(text("UPDATE log_state SET size = :n, last_txid = 0, last_event_id = 0"), {"n": size})
    connection.commit()


def python_log(size: int) -> tuple[merkle.Frontier, dict]:
    """The app's own computation over the same leaves: the frontier, and every node it would store."""
    frontier, nodes = merkle.Frontier(), {}
    keep = (lambda level, index, digest: nodes.__setitem__((level, index), digest)) if size <= SMALL else None
    for index in range(size):
        frontier.append(merkle.leaf_hash(synthetic_data(index)), keep)
    return frontier, nodes


def check_small(base: Base, size: int = SMALL) -> None:
    """The SQL stores what the app stores: every node, and the root of every prefix."""
    with base.active():
        from consent_center.extensions import db
        with db.engine.connect() as connection:
            build_log(connection, size, progress=lambda _: None)
        frontier, expected = python_log(size)
        stored = {(row.level, row.idx): bytes(row.hash)
                  for row in db.session.execute(text("SELECT level, idx, hash FROM log_nodes"))}
        assert stored == expected, "the SQL's subtree hashes differ from the app's"
        prefix = merkle.Frontier()
        for n in range(1, size + 1):
            prefix.append(merkle.leaf_hash(synthetic_data(n - 1)))
            assert root_at(db.session, n) == prefix.root(), n
        assert prefix.root() == frontier.root()
        db.session.remove()
    print(f"SQL build checked against the app on {size} leaves: {len(expected)} nodes equal, "
          f"the roots of all {size} prefixes equal", flush=True)


def cut_back(session, size: int) -> None:
    """Take the log back to its ``size`` synthetic leaves (this bench's database only: triggers lifted)."""
    with append_only.lifted(session.connection()):
        session.execute(text("DELETE FROM log_checkpoints"))
        session.execute(text("DELETE FROM log_leaves WHERE idx >= :n"), {"n": size})
        session.execute(text("DELETE FROM log_nodes WHERE (idx + 1) * (CAST(1 AS bigint) << level) > :n"),
                        {"n": size})
        session.execute(text("UPDATE log_state SET size = :n, last_txid = 0, last_event_id = 0"), {"n": size})
    session.commit()


def integrate_and_sign(session, size: int, batch: int) -> float:
    cut_back(session, size)
    started = time.perf_counter()
    total, signed = make_checkpoint(session, force=True)
    session.commit()
    took = time.perf_counter() - started
    assert signed is not None and total == size + batch, (total, size, batch)
    return took


def proofs(session, size: int, count: int, synthetic_root: bytes) -> dict[str, list[float]]:
    total = session.scalar(select(LogLeaf.index).order_by(LogLeaf.index.desc()).limit(1)) + 1  # N + the batch
    rng = random.Random(size)
    root = root_at(session, total)
    events = dict(session.execute(select(LogLeaf.index, ConsentEvent.public_id)
                                  .join(ConsentEvent, ConsentEvent.id == LogLeaf.event_id)).all())
    session.rollback()
    timings = {"inclusion": [], "inclusion by event": [], "consistency": []}
    for index in rng.sample(range(size), count):
        started = time.perf_counter()
        leaf, path, got = inclusion_path(session, index, total)
        timings["inclusion"].append(time.perf_counter() - started)
        assert got == root and rfc_verify_inclusion(index, total, synthetic_data(index), path, root)
    for index in rng.sample(sorted(events), min(count, len(events))):
        started = time.perf_counter()
        proof = inclusion_proof(session, events[index], total)
        timings["inclusion by event"].append(time.perf_counter() - started)
        assert rfc_verify_inclusion(index, total, leaf_data(proof.event_hash), proof.path, root)
    for first in [size, *rng.sample(range(1, size), count - 1)]:
        started = time.perf_counter()
        proof = consistency_proof(session, first, total)
        timings["consistency"].append(time.perf_counter() - started)
        assert proof.second_root == root and rfc_verify_consistency(first, total, proof.first_root, root, proof.path)
        if first == size:  # the checkpoint over the batch extends the N leaves the app computes
            assert proof.first_root == synthetic_root
    session.rollback()
    return timings


def measure(base: Base, size: int, batch: int, repeats: int, count: int) -> tuple:
    with base.active():
        from consent_center.extensions import db
        started = time.perf_counter()
        with db.engine.connect() as connection:
            build_log(connection, size)
            connection.execute(text("ANALYZE log_leaves"))
            connection.execute(text("ANALYZE log_nodes"))
            connection.commit()
        built = time.perf_counter() - started
        print(f"{size:,}: built in SQL in {built:.0f} s (load {load()})", flush=True)
        started = time.perf_counter()
        synthetic_root = python_log(size)[0].root()
        assert root_at(db.session, size) == synthetic_root, "the SQL root differs from the app's"
        print(f"{size:,}: root equals the app's Frontier over the same leaves "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
        counts = seed(db.session, max(batch // 10, 1), batch)
        db.session.commit()
        batch = counts["events"]
        loads, integrations = [], []
        for repeat in range(repeats):
            loads.append(load())
            integrations.append(integrate_and_sign(db.session, size, batch))
            print(f"{size:,} #{repeat + 1}: integrate {batch} events + sign {integrations[-1]:.2f} s "
                  f"(load {loads[-1]})", flush=True)
        timings = proofs(db.session, size, count, synthetic_root)
        db.session.remove()
    return (size, built, batch, spread(integrations, 1, 2), spread(timings["inclusion"], 1000, 2),
            spread(timings["inclusion by event"], 1000, 2), spread(timings["consistency"], 1000, 2),
            "; ".join(loads))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-server", required=True, help="postgresql+psycopg://user@host:port")
    parser.add_argument("--sizes", default="1000000,10000000", help="synthetic leaves, comma-separated")
    parser.add_argument("--batch", type=int, default=1000, help="real events integrated on top")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--proofs", type=int, default=200)
    parser.add_argument("--check-only", action="store_true", help="only check the SQL against the app")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="log-synthetic-"))
    admin = create_engine(f"{args.postgres_server}/postgres", isolation_level="AUTOCOMMIT")
    sizes = [] if args.check_only else [int(s) for s in args.sizes.split(",")]
    rows = []
    for size in [SMALL, *sizes]:
        name = f"cc_log_synthetic_{secrets.token_hex(4)}"
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        base = Base("PostgreSQL", f"{args.postgres_server}/{name}", folder)
        try:
            upgraded = base.cli("db", "upgrade")
            assert upgraded.exit_code == 0, upgraded.output
            if size == SMALL:
                check_small(base)
            else:
                rows.append(measure(base, size, args.batch, args.repeats, args.proofs))
        finally:
            for engine in set(base.engines):
                engine.dispose()
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()
    if rows:
        print("\n| leaves (synthetic, SQL) | built in, s | real events on top | integrate them + sign, s "
              "| inclusion proof, ms | inclusion by event id, ms | consistency proof, ms | load at each repeat |")
        print("|---:|---:|---:|---:|---:|---:|---:|---|")
        for row in rows:
            print(f"| {row[0]:,} | {row[1]:.0f} | {row[2]:,} | {row[3]} | {row[4]} | {row[5]} | {row[6]} | {row[7]} |")
        print(f"\nmedian (min–max): integration over {args.repeats} repeats, proofs over {args.proofs} each, "
              "every proof checked by the RFC 9162 verifier of tests/test_merkle.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
