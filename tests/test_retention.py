"""Retention with its periods overridden (7 and 10 years) and no question asked first: erasure at the limits.

The jurisdictions' presets, the question before erasure and the clock's
contacts are proved in test_rules_retention.py.
"""
import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from consent_center.ledger.chain import verify_chains
from consent_center.ledger import Actor
from consent_center.models import Account, ConsentEvent, DataRequest, Subject, SuppressedAddress
from consent_center.rights.retention import years_before
from consent_center.subjects.service import create_subject

from .conftest import form_post
from .test_subject_rights import file_and_verify, person, staff  # noqa: F401


pytestmark = pytest.mark.settings(RETENTION_ACCOUNT_YEARS=7, RETENTION_PROSPECT_YEARS=10, REPERMISSION_NOTICE_DAYS=0)


def setup_people(session, make_account):
    with freeze_time("2019-01-01 10:00:00"):
        make_account("idle@example.com", name="Ida Idle")
    with freeze_time("2016-01-01 10:00:00"):
        create_subject(session, actor=Actor.system(), email="prospect@example.com", name="Pat Prospect")
    with freeze_time("2025-06-01 10:00:00"):
        make_account("active@example.com")
    session.commit()


def erased_emails(session):
    session.rollback()
    kept = set(session.scalars(select(Subject.email).where(Subject.email.is_not(None))))
    return {"idle@example.com", "prospect@example.com", "active@example.com"} - kept


def test_nobody_is_erased_at_exactly_the_limits(runner, session, make_account):
    setup_people(session, make_account)
    with freeze_time("2026-01-01 10:00:00"):
        result = runner.invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    assert "erased 0 subject(s)" in result.output
    assert erased_emails(session) == set()


def test_just_past_the_limits_the_idle_account_and_the_old_prospect_are_erased(runner, session, make_account):
    setup_people(session, make_account)
    with freeze_time("2026-01-01 10:00:01"):
        result = runner.invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    assert "erased 2 subject(s): 1 inactive account(s), 1 prospect(s)" in result.output
    assert erased_emails(session) == {"idle@example.com", "prospect@example.com"}
    assert session.scalars(select(Account).where(Account.email == "idle@example.com")).first() is None
    assert verify_chains(session).ok
    # Nobody objected: retention puts no address on the suppression list.
    assert session.scalars(select(SuppressedAddress)).first() is None


def test_a_login_restarts_the_account_clock(runner, session, make_account):
    setup_people(session, make_account)
    session.rollback()
    account = session.scalars(select(Account).where(Account.email == "idle@example.com")).one()
    with freeze_time("2020-01-01"):
        from consent_center.clock import utcnow
        account.last_login_at = utcnow()
    session.commit()
    with freeze_time("2026-01-01 10:00:01"):
        runner.invoke(args=["retention", "run"])
    assert erased_emails(session) == {"prospect@example.com"}


def test_dry_run_lists_and_erases_nobody(runner, session, make_account):
    setup_people(session, make_account)
    with freeze_time("2030-01-01"):
        result = runner.invoke(args=["retention", "run", "--dry-run"])
    assert "would erase 2 subject(s)" in result.output
    assert erased_emails(session) == set()


def test_rule_answered_requests_of_an_erased_person_go_after_the_proof_period(
        client, auth, session, runner, person, staff):
    """CONSENT_RETENTION_PROOF_YEARS (FR: five years) after an erasure, its request's record goes; the
    pseudonymous ledger stays and still verifies."""
    with freeze_time("2027-01-01 10:00:00"):
        _, page = file_and_verify(client, auth, session, "erasure")
        assert form_post(client, page, {}, action=f"{page}/carry-out").status_code == 302
    session.rollback()
    events = session.scalar(select(func.count()).select_from(ConsentEvent))
    with freeze_time("2032-01-01 10:00:00"):
        assert runner.invoke(args=["retention", "run"]).exit_code == 0
    session.rollback()
    assert session.scalars(select(DataRequest)).one().kind == "erasure"
    with freeze_time("2032-01-01 10:00:01"):
        assert runner.invoke(args=["retention", "run"]).exit_code == 0
    session.rollback()
    assert session.scalars(select(DataRequest)).first() is None
    assert session.scalar(select(func.count()).select_from(ConsentEvent)) == events
    assert verify_chains(session).ok


def test_years_before_keeps_the_calendar_day():
    from datetime import datetime, timezone
    assert years_before(datetime(2028, 2, 29, tzinfo=timezone.utc), 7) == datetime(2021, 2, 28, tzinfo=timezone.utc)
