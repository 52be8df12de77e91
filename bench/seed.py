"""A realistic base for benchmarks, written through the ledger's bulk path.

    python bench/seed.py --subjects 100000 --events 1000000

(the database and the receipt keys from the ``CONSENT_*`` settings, as for
``flask --app wsgi``; the database must be migrated and hold no subject).

    python bench/seed.py --subjects 5000000 --events 20000000 --workers 2

N customers (``user{i}@example.com``, as the floor benchmark seeds them,
each with a French mobile number of their own, ``phone_of(i)``, in E.164 as
every write path stores it), each starting at the channel defaults, then random changes until about M
events in all, ending in the floor's expected states (~60 % granted), so
answers can be checked against the floor's. Where M leaves no room for the
defaults and the changes that close them (under six events a subject),
each customer instead starts with their choice at sign-up, the expected
states (four events, one receipt), and random changes fill what is left.
``--workers`` seeds as many ranges of customers side by side, each in its
own process, committing every ``--commit-every`` customers: a chain is
one subject's, so ranges never meet. The subjects' rows are
inserted here; every consent change goes through ``ledger.bulk.record_many``
— hash chains, states and one signed receipt per submission, as
``record_change`` writes them — at moments of its own (from 2024-01-01,
seven seconds apart), under the policy version in force at each.
"""
from __future__ import annotations

import multiprocessing
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Iterator

if __package__ in (None, ""):  # run as a script: the repository's package, not an installed one
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from consent_center.ledger import Actor  # noqa: E402
from consent_center.ledger.bulk import Submission, record_many  # noqa: E402
from consent_center.models import Channel, Subject  # noqa: E402
from consent_center.models.vocabulary import ActorType, EventType, Source, Status  # noqa: E402
from consent_center.policies.service import publish_policy  # noqa: E402

BASE_TIME = datetime(2024, 1, 1, tzinfo=timezone.utc)
POLICIES = (("2023-06", datetime(2023, 6, 1, tzinfo=timezone.utc)),
            ("2024-01", datetime(2024, 1, 1, tzinfo=timezone.utc)),
            ("2024-09", datetime(2024, 9, 1, tzinfo=timezone.utc)))
BENCH_CHANNELS = ("email", "sms", "post", "newsletter")
SUBJECT_BATCH = 1000
STEP = timedelta(seconds=7)
_subjects = Subject.__table__
_INSERT_SUBJECTS = insert(_subjects).returning(_subjects.c.id, sort_by_parameter_order=True)


class SeedError(ValueError):
    """The base cannot be seeded here (not empty, channels missing)."""


def email_of(i: int) -> str:
    return f"user{i}@example.com"


def phone_of(i: int) -> str:
    """Customer ``i``'s mobile number: +33 6 1x xx xx xx, a valid French one, up to 9,999,999 customers."""
    return f"+3361{i:07d}"


def expected_granted(i: int, channel: str) -> bool:
    """The floor benchmark's final states (seed_floor.expected_granted)."""
    return (i * 31 + BENCH_CHANNELS.index(channel) * 17) % 5 < 3


def seed(session: Session, subjects: int, events: int, *, progress: Callable[[int], None] | None = None,
         rng_seed: int = 42) -> dict:
    """Write the base in the session's transaction (the caller commits); return counts."""
    prepare(session)
    return seed_range(session, 1, subjects, subjects, events, progress=progress, rng_seed=rng_seed)


def prepare(session: Session) -> None:
    """Check the base is empty and has the channels; publish the policies (flushed, not committed)."""
    if session.scalar(select(func.count()).select_from(Subject)):
        raise SeedError("the database already has subjects: seed an empty one (db upgrade on a new file)")
    channels = session.scalars(select(Channel.code).where(Channel.code.in_(BENCH_CHANNELS))).all()
    if set(channels) != set(BENCH_CHANNELS):
        raise SeedError("the four seeded channels are missing: run db upgrade")
    for label, at in POLICIES:
        publish_policy(session, label, {"en": f"Policy {label}."}, effective_at=at)
    session.flush()


def seed_range(session: Session, first: int, last: int, subjects: int, events: int, *,
               progress: Callable[[int], None] | None = None, rng_seed: int = 42) -> dict:
    """Customers ``first`` to ``last`` of a base of ``subjects`` and about ``events`` events; return counts."""
    channels = {c.code: c for c in session.scalars(select(Channel).where(Channel.code.in_(BENCH_CHANNELS)))}
    recorded = record_many(session, _submissions(session, channels, first, last, subjects, events, progress,
                                                 rng_seed))
    return {"subjects": last - first + 1, "events": recorded.events, "receipts": recorded.receipts}


def _submissions(session: Session, channels: dict[str, Channel], first_number: int, last_number: int,
                 subjects: int, events: int, progress: Callable[[int], None] | None,
                 rng_seed: int) -> Iterator[Submission]:
    """Every subject's submissions, subject after subject; the subjects' rows are inserted a batch ahead."""
    rng = random.Random(rng_seed)
    # Four defaults each and about two closing toggles to reach the expected states;
    # or, without room for those, the expected states at sign-up (four events).
    at_signup = events < 6 * subjects
    extra_total = max(events - (4 if at_signup else 6) * subjects, 0)
    per_subject = extra_total / subjects if subjects else 0
    defaults = {code: c.default_for(True) for code, c in channels.items()}
    # Each range keeps its own clock: a chain's moments only go forward along itself.
    clock = SimpleNamespace(t=BASE_TIME)
    for first in range(first_number, last_number + 1, SUBJECT_BATCH):
        numbers = range(first, min(first + SUBJECT_BATCH, last_number + 1))
        rows = [{"public_id": "%024x" % rng.getrandbits(96), "email": email_of(i), "phone": phone_of(i),
                 "locale": "fr",
                 "is_customer": True, "created_at": BASE_TIME, "updated_at": BASE_TIME} for i in numbers]
        ids = session.connection().execute(_INSERT_SUBJECTS, rows).scalars().all()
        for i, row, subject_id in zip(numbers, rows, ids):
            subject = SimpleNamespace(id=subject_id, public_id=row["public_id"], locale=row["locale"])
            me = Actor(ActorType.SUBJECT, subject.public_id)
            if at_signup:
                status = {code: str(Status.GRANTED if expected_granted(i, code) else Status.REFUSED)
                          for code in BENCH_CHANNELS}
                yield Submission(subject, dict(status), Source.CUSTOMER_SPACE, me, at=clock.t)
            else:
                status = {code: str(status) for code, (status, _) in defaults.items()}
                yield Submission(subject, {code: s for code, (s, _) in defaults.items()}, Source.DEFAULT,
                                 Actor.system(), basis={code: b for code, (_, b) in defaults.items()},
                                 event_type=EventType.DEFAULT, at=clock.t)

            def toggle(code: str) -> Submission:
                clock.t += STEP
                status[code] = Status.WITHDRAWN if status[code] == Status.GRANTED else Status.GRANTED
                return Submission(subject, {code: str(status[code])}, Source.CUSTOMER_SPACE, me, at=clock.t)

            budget = int(per_subject) + (1 if rng.random() < per_subject - int(per_subject) else 0)
            for _ in range(budget):
                yield toggle(rng.choice(BENCH_CHANNELS))
            for code in BENCH_CHANNELS:  # end in the floor's expected state
                if (status[code] == Status.GRANTED) != expected_granted(i, code):
                    yield toggle(code)
            if progress:
                progress(1)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000, help="about this many events in all")
    parser.add_argument("--workers", type=int, default=1, help="processes seeding ranges of customers side by side")
    parser.add_argument("--commit-every", type=int, default=0,
                        help="customers a transaction (0: the whole range in one)")
    args = parser.parse_args(argv)

    from consent_center import create_app
    from consent_center.extensions import db

    app = create_app()
    started = time.perf_counter()
    with app.app_context():
        try:
            prepare(db.session)
            db.session.commit()
        except SeedError as exc:
            db.session.rollback()
            print(f"Error: {exc}", file=sys.stderr)
            return 1
        dialect = db.engine.dialect.name
        db.engine.dispose()  # the workers open their own connections
    ranges = customer_ranges(args.subjects, max(args.workers, 1))
    if len(ranges) > 1 and (turns := turn_size(dialect, args.commit_every)) != args.commit_every:
        print(f"SQLite has one writer: the workers take turns, committing every {turns:,} customers",
              file=sys.stderr, flush=True)
        args.commit_every = turns
    if len(ranges) == 1:
        counts = [_seed_worker(0, *ranges[0], args)]
    else:
        with ProcessPoolExecutor(len(ranges), mp_context=multiprocessing.get_context("spawn")) as pool:
            counts = list(pool.map(_seed_worker, range(len(ranges)), *zip(*ranges), [args] * len(ranges)))
    seeded = time.perf_counter() - started
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM (ANALYZE) subjects, consent_states, consent_events, receipts"))
        else:
            with db.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
    total = {key: sum(c[key] for c in counts) for key in ("subjects", "events", "receipts")}
    print(f"Seeded {total['subjects']} subjects, {total['events']} events, {total['receipts']} receipts "
          f"in {seeded:.1f} s ({time.perf_counter() - started:.1f} s with ANALYZE).")
    return 0


def turn_size(dialect: str, commit_every: int) -> int:
    """Customers a transaction, for workers side by side. SQLite has one writer: a worker waits
    for the other's transaction as long as its busy timeout (30 s), so a range's whole transaction
    would fail the other; there they take turns, a batch at a time."""
    return commit_every if dialect != "sqlite" or 0 < commit_every <= SUBJECT_BATCH else SUBJECT_BATCH


def customer_ranges(subjects: int, workers: int) -> list[tuple[int, int]]:
    """Customers 1…N in ``workers`` ranges of whole subject batches."""
    batches = -(-subjects // SUBJECT_BATCH)
    per = -(-batches // workers)
    bounds = [(w * per * SUBJECT_BATCH + 1, min((w + 1) * per * SUBJECT_BATCH, subjects)) for w in range(workers)]
    return [(first, last) for first, last in bounds if first <= last] or [(1, 0)]


def _seed_worker(worker: int, first: int, last: int, args) -> dict:
    """One range, in transactions of ``--commit-every`` customers, with a line of progress each."""
    from consent_center import create_app
    from consent_center.extensions import db

    step = args.commit_every or max(last - first + 1, 1)
    counts = {"subjects": 0, "events": 0, "receipts": 0}
    started = time.perf_counter()
    with create_app().app_context():
        for start in range(first, last + 1, step):
            end = min(start + step - 1, last)
            # The first range draws what a single process would; the others, numbers of their own.
            done = seed_range(db.session, start, end, args.subjects, args.events, rng_seed=42 + start - 1)
            db.session.commit()
            for key in counts:
                counts[key] += done[key]
            if end < last or first != 1 or args.workers > 1:
                print(f"worker {worker}: customers {first}–{end} of {first}–{last}, {counts['events']} events, "
                      f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return counts


if __name__ == "__main__":
    sys.exit(main())
