"""The benchmark base (bench/seed.py): written by the ledger's bulk path, valid chains,
signed receipts, states that replay, the floor's expected answers."""
import pytest
from sqlalchemy import func, select

from bench.seed import SeedError, email_of, expected_granted, phone_of, seed
from consent_center.ledger.chain import verify_chains
from consent_center.models import Receipt

from .ledger_consistency import assert_ledger_consistent


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
