"""The benchmark base: valid chains, states that replay, the floor's expected answers."""
from consent_center.bench_seed import email_of, expected_granted
from consent_center.ledger.chain import replay_states, stored_states, verify_chains


def test_bench_seed_builds_a_base_that_verifies_and_answers_as_expected(runner, session, api):
    result = runner.invoke(args=["bench", "seed", "--subjects", "60", "--events", "900"])
    assert result.exit_code == 0, result.output
    session.rollback()
    report = verify_chains(session)
    assert report.ok and report.subjects == 60 and 800 <= report.events <= 1000
    assert replay_states(session) == stored_states(session)
    session.rollback()  # end the test's transaction: on SQLite it holds the write lock
    for i in (1, 17, 60):
        for channel in ("email", "newsletter"):
            answer = api.get(f"/check?channel={channel}&email={email_of(i)}").get_json()
            assert answer["allowed"] == expected_granted(i, channel)


def test_bench_seed_refuses_a_database_with_subjects(runner, make_account):
    make_account("someone@example.com")
    result = runner.invoke(args=["bench", "seed", "--subjects", "5", "--events", "20"])
    assert result.exit_code != 0 and "already has subjects" in result.output
