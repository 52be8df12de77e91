"""The benchmark base (bench/seed.py): written by the ledger's bulk path, valid chains,
signed receipts, states that replay, the floor's expected answers."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.seed import SUBJECT_BATCH, SeedError, customer_ranges, email_of, expected_granted, phone_of, seed, turn_size
from consent_center.ledger.chain import verify_chains
from consent_center.models import Receipt

from .ledger_consistency import assert_ledger_consistent

ROOT = Path(__file__).resolve().parent.parent


def test_bench_seed_builds_a_base_that_verifies_and_answers_as_expected(runner, session, api):
    counts = seed(session, 60, 900)
    session.commit()
    report = verify_chains(session)
    assert report.ok and report.subjects == 60 and report.events == counts["events"]
    assert 800 <= counts["events"] <= 1000
    assert session.scalar(select(func.count()).select_from(Receipt).where(Receipt.jws.is_(None))) == 0
    assert_ledger_consistent(session)  # replay equals state; every receipt verifies and lists its events
    session.rollback()  # end the test's transaction: on SQLite it holds the write lock
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    for i in (1, 17, 60):
        for channel in ("email", "newsletter"):
            answer = api.get(f"/check?channel={channel}&email={email_of(i)}").get_json()
            assert answer["allowed"] == expected_granted(i, channel)
    phones = [phone_of(i) for i in (1, 17, 60)]
    answers = api.post("/check", json={"channel": "sms", "phones": phones}).get_json()["results"]
    assert [a["allowed"] for a in answers] == [expected_granted(i, "sms") for i in (1, 17, 60)]
    assert "shared_by" not in answers[0]  # a number of one's own: the bulk by phone measures what it should


def test_bench_seed_refuses_a_database_with_subjects(session, make_account):
    make_account("someone@example.com")
    with pytest.raises(SeedError, match="already has subjects"):
        seed(session, 5, 20)


def test_bench_seed_starts_at_sign_up_when_the_events_leave_no_room_for_defaults(session, api):
    counts = seed(session, 30, 120)  # four events a customer: their choice at sign-up, nothing more
    session.commit()
    assert (counts["events"], counts["receipts"]) == (120, 30)
    report = verify_chains(session)
    assert report.ok and report.subjects == 30 and report.events == 120
    assert_ledger_consistent(session)
    session.rollback()
    for i in (1, 2, 30):
        for channel in ("email", "sms", "post", "newsletter"):
            answer = api.get(f"/check?channel={channel}&email={email_of(i)}").get_json()
            assert answer["allowed"] == expected_granted(i, channel), (i, channel)


def test_bench_seed_ranges_cover_every_customer_once_in_whole_batches():
    assert customer_ranges(2500, 2) == [(1, 2000), (2001, 2500)]
    assert customer_ranges(10, 4) == [(1, 10)]
    assert customer_ranges(5_000_000, 2) == [(1, 2_500_000), (2_500_001, 5_000_000)]


def test_bench_seed_workers_on_sqlite_take_turns_in_transactions_shorter_than_its_busy_timeout():
    """A whole range in one transaction held SQLite's one write lock past the other worker's wait
    (100,000 subjects: "database is locked")."""
    assert turn_size("sqlite", 0) == SUBJECT_BATCH
    assert turn_size("sqlite", 100_000) == SUBJECT_BATCH
    assert turn_size("sqlite", 600) == 600
    assert turn_size("postgresql", 0) == 0
    assert turn_size("postgresql", 100_000) == 100_000


def test_bench_seed_command_seeds_in_parallel_workers_a_base_that_verifies(tmp_path):
    env = {**os.environ, "CONSENT_DATABASE_URL": f"sqlite:///{tmp_path / 'seed.sqlite3'}",
           "CONSENT_SECRET_KEY": "bench-secret-key-not-for-production-" + "x" * 16,
           "CONSENT_RECEIPT_KEY_DIR": str(tmp_path / "keys"), "FLASK_APP": str(ROOT / "wsgi.py")}
    env.pop("CONSENT_TESTING", None)

    def run(*args):
        done = subprocess.run([sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done

    run("-m", "flask", "db", "upgrade")
    # Ranges are of whole batches of 1,000 customers: the second worker seeds the last one.
    seeded = run("bench/seed.py", "--subjects", "1001", "--events", "4004", "--workers", "2", "--commit-every", "600")
    assert "Seeded 1001 subjects, 4004 events, 1001 receipts" in seeded.stdout
    assert "worker 0: customers 1–600 of 1–1000" in seeded.stderr
    assert "worker 1: customers 1001–1001 of 1001–1001" in seeded.stderr
    verified = run("-m", "flask", "ledger", "verify")
    assert "OK: 4004 events in 1001 chains verified" in verified.stdout
    again = subprocess.run([sys.executable, "bench/seed.py", "--subjects", "10", "--events", "40"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "already has subjects" in again.stderr
