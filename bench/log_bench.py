"""The transparency log at size: integration time, and proof times, on a seeded base.

    python bench/log_bench.py --subjects 10000 --events 100000 [--database-url URL]

Seeds a fresh database through the ledger's bulk path (bench/seed.py), then
times ``ledger checkpoint`` (integrating every event and signing), an
inclusion proof of events spread over the log, a consistency proof and
``ledger verify --checkpoint`` (every leaf recomputed from its event).
Without --database-url, a new SQLite file in a temporary folder.
"""
from __future__ import annotations

import argparse
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repository's package, not an installed one
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from bench.seed import seed  # noqa: E402
from consent_center import create_app  # noqa: E402
from consent_center.extensions import db  # noqa: E402
from consent_center.ledger import merkle  # noqa: E402
from consent_center.ledger.checkpoints import latest_checkpoint, make_checkpoint, origin, verifiers  # noqa: E402
from consent_center.ledger.log_check import check_checkpoint  # noqa: E402
from consent_center.ledger.transparency import consistency_proof, inclusion_proof  # noqa: E402
from consent_center.models import ConsentEvent  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--proofs", type=int, default=200)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="log-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": secrets.token_urlsafe(32),
                      "RECEIPT_KEY_DIR": str(folder / "receipt_keys"),
                      "CHECKPOINT_KEY_DIR": str(folder / "checkpoint_keys")})
    upgraded = app.test_cli_runner().invoke(args=["db", "upgrade"])
    if upgraded.exit_code:
        print(upgraded.output, file=sys.stderr)
        return 1
    with app.app_context():
        session = db.session
        started = time.perf_counter()
        counts = seed(session, args.subjects, args.events)
        session.commit()
        print(f"seeded {counts['events']} events of {counts['subjects']} subjects in "
              f"{time.perf_counter() - started:.1f} s ({url.split(':')[0]})")

        started = time.perf_counter()
        size, _ = make_checkpoint(session, force=True)
        session.commit()
        print(f"checkpoint (integrate {size} events, store their subtrees, sign): "
              f"{time.perf_counter() - started:.2f} s")

        events = session.scalars(select(ConsentEvent.public_id)).all()
        sample = random.Random(1).sample(events, min(args.proofs, len(events)))
        timings = []
        for public_id in sample:
            started = time.perf_counter()
            proof = inclusion_proof(session, public_id, size)
            timings.append(time.perf_counter() - started)
            assert merkle.verify_inclusion(proof.leaf_index, size, proof.leaf_hash, proof.path, proof.root)
        print(f"inclusion proof at {size}: median {statistics.median(timings) * 1000:.2f} ms, "
              f"max {max(timings) * 1000:.2f} ms ({len(sample)} proofs, {len(proof.path)} hashes each)")
        started = time.perf_counter()
        consistency_proof(session, size // 3, size)
        print(f"consistency proof {size // 3} -> {size}: {(time.perf_counter() - started) * 1000:.2f} ms")

        kept = latest_checkpoint(session).note
        started = time.perf_counter()
        check_checkpoint(session, kept, verifiers(), origin())
        print(f"ledger verify --checkpoint (every leaf recomputed): {time.perf_counter() - started:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
