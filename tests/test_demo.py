"""`flask demo` seeds known passwords and an all-scope key: only where that is harmless.

It seeds a company too: months of history through the real services. The
tests see it on a small size (``--subjects 20``); the full size is measured
by hand (docs/demo.md).
"""
import email
import email.policy
import itertools
import json
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from consent_center import clock, create_app
from consent_center.cli.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from consent_center.cli.demo_company import Timeline
from consent_center.cli.demo_people import draw_people
from consent_center.cli.demo_story import plan_journeys
from consent_center.clock import utcnow
from consent_center.extensions import db as database
from consent_center.ledger import Actor, current_states
from consent_center.ledger.verification import last_verification
from consent_center.models import (
    OutboxMessage,
    RepermissionRequest,
    Account,
    ApiClient,
    Channel,
    ConsentEvent,
    DataRequest,
    LogCheckpoint,
    PolicyVersion,
    Receipt,
    Role,
    Subject,
)
from consent_center.rights.requests import is_overdue, is_soon_due
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
    result = runner.invoke(args=["demo", "--subjects", "0"])
    assert result.exit_code == 1
    assert "already holds accounts or subjects" in result.output and "--force" in result.output
    assert "demo-password" not in result.output and "cc_" not in result.output
    assert counts(session) == before


def test_demo_refuses_a_database_with_subjects_only(runner, session):
    a_subject(session)
    before = counts(session)
    result = runner.invoke(args=["demo", "--subjects", "0"])
    assert result.exit_code == 1 and "--force" in result.output
    assert counts(session) == before


def test_demo_seeds_a_database_in_use_when_forced(runner, session, make_account):
    make_account("dpo@company.example", Role.ADMIN)
    result = runner.invoke(args=["demo", "--force", "--subjects", "0"])
    assert result.exit_code == 0, result.output
    emails = set(session.scalars(select(Account.email)))
    assert {email for email, _, _ in DEMO_ACCOUNTS} < emails


def test_demo_seeds_a_database_in_use_in_debug(app, runner, session, make_account):
    make_account("dpo@company.example", Role.ADMIN)
    app.debug = True
    result = runner.invoke(args=["demo", "--subjects", "0"])
    assert result.exit_code == 0, result.output
    assert session.scalar(select(func.count()).select_from(ApiClient)) == 1


def test_demo_runs_again_on_its_own_database_after_the_demo_was_used(runner, session):
    assert runner.invoke(args=["demo", "--subjects", "0"]).exit_code == 0
    a_subject(session, "visitor@example.com")  # someone signed up to the newsletter of the demo
    again = runner.invoke(args=["demo", "--subjects", "0"])
    assert again.exit_code == 0, again.output
    assert "Demo ready" in again.output


def test_demo_refuses_when_only_some_demo_accounts_are_there(runner, session, make_account):
    make_account("admin@example.com", Role.ADMIN)
    result = runner.invoke(args=["demo", "--subjects", "0"])
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
                seeded = runner.invoke(args=["demo", "--subjects", "0"])
                assert seeded.exit_code == 0, seeded.output
                assert "Demo ready" in seeded.output
        finally:
            database.session.remove()
            database.dispose()


# --- The demo company: its history, its pages, its sample e-mail (on a small size) ---

DEMO_BASE = "http://127.0.0.1:5077"


@pytest.mark.settings(BASE_URL=DEMO_BASE)
def test_demo_company_is_a_real_history_through_the_services_and_its_mail_can_be_clicked(app, runner, session,
                                                                                      client, auth):
    result = runner.invoke(args=["demo", "--subjects", "20", "--sample-mail"])
    assert result.exit_code == 0, result.output
    assert "Six months of history" in result.output and "it holds" in result.output
    assert f"{DEMO_BASE}/login" in result.output

    subjects = session.scalars(select(Subject)).all()
    assert len(subjects) >= 20 + 1 + 4  # the people, the demo customer, the fair's contacts
    assert {s.locale for s in subjects if s.erased_at is None} == {"fr", "nl", "en"}
    assert {s.is_customer for s in subjects} == {True, False}
    phones = [s.phone for s in subjects if s.phone]
    assert phones and all(re.fullmatch(r"\+[1-9]\d{7,14}", p) for p in phones)  # E.164, as the real code stores
    assert len([s for s in subjects if s.erased_at is not None]) == 1
    assert len([s for s in subjects if s.restricted_at is not None]) == 1
    sources = set(session.scalars(select(ConsentEvent.source).distinct()))
    assert {"default", "customer_space", "double_opt_in", "api", "staff", "import", "unsubscribe_link",
            "reconsent", "erasure", "objection", "restriction", "sms_keyword"} <= sources
    policy = session.scalars(select(PolicyVersion).order_by(PolicyVersion.effective_at.desc())).first()
    assert policy.material and policy.effective_at.replace(tzinfo=UTC) < utcnow()
    reconsented = session.scalars(select(ConsentEvent).where(ConsentEvent.source == "reconsent")).all()
    assert all(e.policy_version_id == policy.id for e in reconsented)
    requests = session.scalars(select(DataRequest)).all()
    assert {r.kind for r in requests} >= {"access", "objection", "erasure", "restriction"}
    assert any(is_overdue(r) for r in requests) and any(is_soon_due(r) for r in requests)
    assert any(r.status == "completed" and r.kind == "erasure" for r in requests)
    assert session.scalar(select(func.count()).select_from(LogCheckpoint)) == 1
    assert last_verification(session).ok
    # A re-permission campaign in each of its states: asked, answered yes, asked today.
    assert "4 people asked whether they still want to hear from us, 1 said yes" in result.output
    outcomes = sorted(session.scalars(select(RepermissionRequest.outcome)))
    assert outcomes == ["asked", "asked", "asked", "renewed"]
    # The made-up webhook receivers came after the whole story: nothing was queued to them.
    assert session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "webhook")) == 0
    # Every event is in the past, and a subject's chain never goes back in time.
    events = session.execute(select(ConsentEvent.subject_id, ConsentEvent.seq, ConsentEvent.occurred_at)
                             .order_by(ConsentEvent.subject_id, ConsentEvent.seq)).all()
    assert all(a.occurred_at <= b.occurred_at for a, b in itertools.pairwise(events) if a.subject_id == b.subject_id)
    assert max(e.occurred_at for e in events).replace(tzinfo=UTC) <= utcnow()
    # Receipts name the address the demo is served at.
    receipt = session.scalars(select(Receipt).order_by(Receipt.id)).first()
    assert json.loads(receipt.document)["iss"] == DEMO_BASE
    session.rollback()

    # The sample e-mail: RFC 8058 headers and the same link, visible, at the demo's address.
    (eml,) = (Path(app.instance_path) / "outbox").glob("*sample_marketing*.eml")
    mail = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    link = re.fullmatch(r"<([^>]+)>", mail["List-Unsubscribe"]).group(1)
    assert link.startswith(f"{DEMO_BASE}/u/") and mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["To"].addresses[0].addr_spec == "client@example.com"
    assert link in mail.get_body(("plain",)).get_content()
    assert f'href="{link}"' in mail.get_body(("html",)).get_content()
    assert "newsletter" in mail["Subject"].lower()  # in French: "Newsletter Consent Center : …"
    # Clicked as a mail provider does (one-click), it withdraws the newsletter.
    answer = client.post(link.removeprefix(DEMO_BASE), data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    camille = session.scalars(select(Subject).where(Subject.email == "client@example.com")).one()
    newsletter = session.scalars(select(Channel).where(Channel.code == "newsletter")).one()
    assert current_states(session, camille)[newsletter.id].status == "withdrawn"
    session.rollback()

    # The staff pages show real rows.
    auth.login("admin@example.com", DEMO_PASSWORD)
    queue = client.get("/admin/requests/").get_data(as_text=True)
    assert queue.count("<tr") >= 1 + 4  # the open requests, the overdue one first
    assert client.get("/admin/log").get_data(as_text=True).count("<tr") >= 1 + 8  # the import, the desk
    assert "crm.example.com" in client.get("/admin/webhooks").get_data(as_text=True)
    assert "Shop CRM sync" in client.get("/admin/keys").get_data(as_text=True)
    auth.logout()
    auth.login("auditor@example.com", DEMO_PASSWORD)
    counts_page = client.get("/audit/counts").get_data(as_text=True)
    assert re.search(r"<td[^>]*>\s*[1-9]\d\s*</td>", counts_page)  # tens of people on a channel
    assert client.get("/audit/policies").get_data(as_text=True).count("<tr") >= 3
    assert client.get("/audit/").status_code == 200
    assert "STOP" in client.get("/audit/inbound").get_data(as_text=True)  # texted back, through the SMS hook

    again = runner.invoke(args=["demo", "--subjects", "20"])  # a second `make demo`: no second history
    assert again.exit_code == 0, again.output
    assert "Six months" not in again.output
    assert session.scalar(select(func.count()).select_from(Subject)) == len(subjects)


def test_demo_draws_the_same_story_from_the_same_seed():
    timeline = Timeline(datetime(2026, 3, 1, tzinfo=UTC))

    def story(seed):
        rng = random.Random(seed)
        people = draw_people(rng, 40, timeline.start, timeline.last_sign_up)
        plan = plan_journeys(rng, people, timeline)
        return ([(p.email, p.phone, p.locale, p.customer, p.created) for p in people],
                [(kind, person.number, at) for kind, person, at, _ in plan.planned])

    assert story(7) == story(7) and story(7) != story(8)
    people, planned = story(7)
    assert all(timeline.start <= created <= timeline.last_sign_up for *_, created in people)
    assert {kind for kind, _, _ in planned} == {"request", "unsubscribe", "reconsent", "sms_stop"}
    assert all(at < timeline.now for _, _, at in planned)


def test_clock_set_to_moves_utcnow_inside_the_block_only():
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    with clock.set_to(moment):
        assert clock.utcnow() == moment
        with clock.set_to(moment + timedelta(hours=1)):
            assert clock.utcnow() == moment + timedelta(hours=1)
        assert clock.utcnow() == moment
    assert clock.utcnow() > moment
    with pytest.raises(ValueError), clock.set_to(datetime(2025, 1, 2)):  # naive
        pass
    with pytest.raises(ValueError), clock.set_to(clock.utcnow() + timedelta(days=1)):  # receipts no clock signs
        pass
    with pytest.raises(RuntimeError), clock.set_to(moment):
        raise RuntimeError("the block fails")
    assert clock.utcnow() > moment
