"""Consent validity: reminders before, expiry through the ledger after (`consent expire`)."""
import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center.policies.expiry import add_months
from consent_center.ledger import Actor, record_change
from consent_center.outbox.mail import compose
from consent_center.models import Channel, ConsentEvent, ConsentState, OutboxMessage, Source
from consent_center.subjects.service import create_subject


@pytest.fixture
def lise(session):
    """A newsletter subscriber since 10 January 2024, on a channel whose consent lasts 24 months."""
    session.scalars(select(Channel).where(Channel.code == "newsletter")).one().validity_months = 24
    with freeze_time("2024-01-10 09:00:00"):
        subject = create_subject(session, actor=Actor.system(), email="lise@example.com", name="Lise Peeters",
                                 locale="nl", is_customer=True)
        record_change(session, subject, {"newsletter": "granted"}, source=Source.CUSTOMER_SPACE,
                      actor=Actor.system())
    session.commit()
    return subject


def run_expire(runner):
    result = runner.invoke(args=["consent", "expire"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def reminders(session):
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "expiry_reminder")))


def newsletter_state(session, subject):
    session.rollback()
    return session.scalars(select(ConsentState).join(Channel).where(
        ConsentState.subject_id == subject.id, Channel.code == "newsletter")).one()


def test_add_months_clamps_to_the_end_of_the_month():
    from datetime import datetime
    assert add_months(datetime(2024, 1, 31), 1) == datetime(2024, 2, 29)
    assert add_months(datetime(2024, 3, 15), -24) == datetime(2022, 3, 15)


def test_a_reminder_goes_out_once_30_days_before_in_the_persons_language(runner, session, lise):
    with freeze_time("2025-12-10 08:00:00"):  # 31 days before
        run_expire(runner)
        assert reminders(session) == []
    with freeze_time("2025-12-12 08:00:00"):
        assert "reminders for 1 grants" in run_expire(runner)
        run_expire(runner)
        session.rollback()
        [message] = reminders(session)
        email = compose(message)
    assert message.recipient == "lise@example.com" and email["Content-Language"] == "nl"
    text = email.get_body(("plain",)).get_content()
    assert "Nieuwsbrief" in text and "10 januari 2026" in text
    assert newsletter_state(session, lise).status == "granted"


def test_a_grant_expires_through_the_ledger_after_its_validity(runner, session, lise):
    with freeze_time("2026-01-10 08:59:59"):
        run_expire(runner)
        assert newsletter_state(session, lise).status == "granted"
    with freeze_time("2026-01-10 09:00:00"):
        assert "Expired 1 grants of 1 people" in run_expire(runner)
        assert "Expired 0 grants" in run_expire(runner)
    session.rollback()
    event = session.scalars(select(ConsentEvent).where(ConsentEvent.subject_id == lise.id)
                            .order_by(ConsentEvent.seq.desc())).first()
    assert (event.status, event.source, event.event_type, event.actor_type) == \
        ("expired", "expiry", "expired", "system")
    assert newsletter_state(session, lise).status == "expired"


def test_a_renewed_grant_starts_a_new_validity_and_earns_a_new_reminder(runner, session, lise):
    with freeze_time("2025-12-12 08:00:00"):
        run_expire(runner)
    with freeze_time("2025-12-20 08:00:00"):
        record_change(session, lise, {"newsletter": "granted"}, source=Source.RECONSENT, actor=Actor.system(),
                      renew=True)
        session.commit()
    with freeze_time("2026-01-11 08:00:00"):
        run_expire(runner)
        assert newsletter_state(session, lise).status == "granted"
    with freeze_time("2027-11-25 08:00:00"):
        run_expire(runner)
        assert len(reminders(session)) == 2


def test_legitimate_interest_and_soft_opt_in_do_not_expire(runner, session, lise):
    session.scalars(select(Channel).where(Channel.code == "email")).one().validity_months = 1
    session.commit()
    assert newsletter_state(session, lise).status == "granted"
    with freeze_time("2026-01-10 09:00:00"):
        run_expire(runner)
    session.rollback()
    email = session.scalars(select(ConsentState).join(Channel).where(
        ConsentState.subject_id == lise.id, Channel.code == "email")).one()
    assert (email.status, email.basis) == ("granted", "soft_opt_in")


def test_a_grant_lapsed_at_a_months_end_is_expired_whatever_the_clamp(runner, session):
    # 28 Feb 11:00 + 1 month = 28 Mar 11:00; on 30 Mar add_months(now, -1) is 28 Feb 10:00,
    # an hour before the grant: a query on that cutoff alone would miss it.
    session.scalars(select(Channel).where(Channel.code == "newsletter")).one().validity_months = 1
    with freeze_time("2025-02-28 11:00:00"):
        subject = create_subject(session, actor=Actor.system(), email="noor@example.com", locale="nl")
        record_change(session, subject, {"newsletter": "granted"}, source=Source.CUSTOMER_SPACE,
                      actor=Actor.system())
    session.commit()
    with freeze_time("2025-03-30 10:00:00"):
        run_expire(runner)
    assert newsletter_state(session, subject).status == "expired"
