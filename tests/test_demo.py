"""`flask demo` seeds known passwords and an all-scope key: only where that is harmless."""
import pytest
from sqlalchemy import func, select

from consent_center import create_app
from consent_center.cli.demo import DEMO_ACCOUNTS
from consent_center.extensions import db as database
from consent_center.ledger import Actor
from consent_center.models import Account, ApiClient, PolicyVersion, Role, Subject
from consent_center.subjects.service import create_subject

STRONG_KEY = "a-long-production-secret-of-at-least-32-characters"


def counts(session) -> dict:
    counted = {model.__name__: session.scalar(select(func.count()).select_from(model))
               for model in (Account, Subject, ApiClient, PolicyVersion)}
    session.rollback()
    return counted


def a_subject(session, email="lea@example.com"):
    create_subject(session, actor=Actor.system(), email=email)
    session.commit()


def test_demo_refuses_a_database_with_accounts_and_writes_nothing(runner, session, make_account):
    make_account("dpo@company.example", Role.ADMIN)
    before = counts(session)
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 1
    assert "already holds accounts or subjects" in result.output and "--force" in result.output
    assert "demo-password" not in result.output and "cc_" not in result.output
    assert counts(session) == before


def test_demo_refuses_a_database_with_subjects_only(runner, session):
    a_subject(session)
    before = counts(session)
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 1 and "--force" in result.output
    assert counts(session) == before


def test_demo_seeds_a_database_in_use_when_forced(runner, session, make_account):
    make_account("dpo@company.example", Role.ADMIN)
    result = runner.invoke(args=["demo", "--force"])
    assert result.exit_code == 0, result.output
    emails = set(session.scalars(select(Account.email)))
    assert {email for email, _, _ in DEMO_ACCOUNTS} < emails


def test_demo_seeds_a_database_in_use_in_debug(app, runner, session, make_account):
    make_account("dpo@company.example", Role.ADMIN)
    app.debug = True
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert session.scalar(select(func.count()).select_from(ApiClient)) == 1


def test_demo_runs_again_on_its_own_database_after_the_demo_was_used(runner, session):
    assert runner.invoke(args=["demo"]).exit_code == 0
    a_subject(session, "visitor@example.com")  # someone signed up to the newsletter of the demo
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    assert "Demo ready" in again.output


def test_demo_refuses_when_only_some_demo_accounts_are_there(runner, session, make_account):
    make_account("admin@example.com", Role.ADMIN)
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 1 and "--force" in result.output


def test_make_demo_twice_on_a_production_like_app(monkeypatch, database_url, tmp_path):
    """`make demo`: db upgrade then demo, no debug, a real key, run twice on one database."""
    for name in ("DEBUG", "SECRET_KEY_FALLBACKS", "BASE_URL", "SECURE_COOKIES"):
        monkeypatch.delenv(f"CONSENT_{name}", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.setenv("CONSENT_SECRET_KEY", STRONG_KEY)
    monkeypatch.setenv("CONSENT_DATABASE_URL", database_url)
    monkeypatch.setenv("CONSENT_RECEIPT_KEY_DIR", str(tmp_path / "keys"))
    app = create_app()
    assert not app.debug and not app.testing
    runner = app.test_cli_runner()
    with app.app_context():  # as `flask` pushes one for every command
        try:
            for _ in range(2):
                upgraded = runner.invoke(args=["db", "upgrade"])
                assert upgraded.exit_code == 0, upgraded.output
                seeded = runner.invoke(args=["demo"])
                assert seeded.exit_code == 0, seeded.output
                assert "Demo ready" in seeded.output
        finally:
            database.session.remove()
            database.dispose()
