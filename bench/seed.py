"""A realistic base for benchmarks, written through the ledger's bulk path.

    python bench/seed.py --subjects 100000 --events 1000000

(the database and the receipt keys from the ``CONSENT_*`` settings, as for
``flask --app wsgi``; the database must be migrated and hold no subject).

N customers (``user{i}@example.com``, as the floor benchmark seeds them,
each with a French mobile number of their own, ``phone_of(i)``, in E.164 as
every write path stores it), each starting at the channel defaults, then random changes until about M
events in all, ending in the floor's expected states (~60 % granted), so
answers can be checked against the floor's. The subjects' rows are
inserted here; every consent change goes through ``ledger.bulk.record_many``
— hash chains, states and one signed receipt per submission, as
``record_change`` writes them — at moments of its own (from 2024-01-01,
seven seconds apart), under the policy version in force at each.
"""
from __future__ import annotations

import random
import sys
import time
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
    if session.scalar(select(func.count()).select_from(Subject)):
        raise SeedError("the database already has subjects: seed an empty one (db upgrade on a new file)")
    channels = {c.code: c for c in session.scalars(select(Channel).where(Channel.code.in_(BENCH_CHANNELS)))}
    if set(channels) != set(BENCH_CHANNELS):
        raise SeedError("the four seeded channels are missing: run db upgrade")
    for label, at in POLICIES:
        publish_policy(session, label, {"en": f"Policy {label}."}, effective_at=at)
    session.flush()
    recorded = record_many(session, _submissions(session, channels, subjects, events, progress, rng_seed))
    return {"subjects": subjects, "events": recorded.events, "receipts": recorded.receipts}


def _submissions(session: Session, channels: dict[str, Channel], subjects: int, events: int,
                 progress: Callable[[int], None] | None, rng_seed: int) -> Iterator[Submission]:
    """Every subject's submissions, subject after subject; the subjects' rows are inserted a batch ahead."""
    rng = random.Random(rng_seed)
    # Four defaults each, and about two closing toggles to reach the expected states.
    extra_total = max(events - 6 * subjects, 0)
    per_subject = extra_total / subjects if subjects else 0
    defaults = {code: c.default_for(True) for code, c in channels.items()}
    clock = SimpleNamespace(t=BASE_TIME)
    for first in range(1, subjects + 1, SUBJECT_BATCH):
        numbers = range(first, min(first + SUBJECT_BATCH, subjects + 1))
        rows = [{"public_id": "%024x" % rng.getrandbits(96), "email": email_of(i), "phone": phone_of(i),
                 "locale": "fr",
                 "is_customer": True, "created_at": BASE_TIME, "updated_at": BASE_TIME} for i in numbers]
        ids = session.connection().execute(_INSERT_SUBJECTS, rows).scalars().all()
        for i, row, subject_id in zip(numbers, rows, ids):
            subject = SimpleNamespace(id=subject_id, public_id=row["public_id"], locale=row["locale"])
            status = {code: str(status) for code, (status, _) in defaults.items()}
            yield Submission(subject, {code: s for code, (s, _) in defaults.items()}, Source.DEFAULT,
                             Actor.system(), basis={code: b for code, (_, b) in defaults.items()},
                             event_type=EventType.DEFAULT, at=clock.t)
            me = Actor(ActorType.SUBJECT, subject.public_id)

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
    args = parser.parse_args(argv)

    from consent_center import create_app
    from consent_center.extensions import db

    app = create_app()
    started = time.perf_counter()
    with app.app_context():
        session = db.session
        try:
            counts = seed(session, args.subjects, args.events)
            session.commit()
        except SeedError as exc:
            session.rollback()
            print(f"Error: {exc}", file=sys.stderr)
            return 1
        seeded = time.perf_counter() - started
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM (ANALYZE) subjects, consent_states, consent_events, receipts"))
        else:
            with db.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
    print(f"Seeded {counts['subjects']} subjects, {counts['events']} events, {counts['receipts']} receipts "
          f"in {seeded:.1f} s ({time.perf_counter() - started:.1f} s with ANALYZE).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
