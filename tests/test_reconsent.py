"""Re-consent after a material policy change: confirm, change, or put off."""
from datetime import datetime, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center.ledger import Actor, record_change
from consent_center.models import ConsentEvent, EventType, PolicyVersion, Source
from consent_center.policies.service import publish_policy
from consent_center.policies.reconsent import reconsent_due
from consent_center.subjects.service import find_by_email

from .conftest import form_post

V1 = datetime(2018, 11, 26, tzinfo=timezone.utc)
V2 = datetime(2026, 12, 1, tzinfo=timezone.utc)


@pytest.fixture
def customer_under_v1(session, make_account):
    publish_policy(session, "v1", {"en": "Policy one"}, effective_at=V1)
    session.commit()
    with freeze_time("2026-11-01 10:00:00"):
        account = make_account("camille@example.com", name="Camille Martin", locale="en")
        record_change(session, account.subject, {"newsletter": "granted"}, source=Source.CUSTOMER_SPACE,
                      actor=Actor.system())
        session.commit()
    return account


def publish_v2(session, *, material=True):
    publish_policy(session, "v2", {"en": "Policy two"}, effective_at=V2, material=material)
    session.commit()


def events(session, subject_id):
    return list(session.scalars(select(ConsentEvent).where(ConsentEvent.subject_id == subject_id)
                                .order_by(ConsentEvent.seq)))


def test_a_material_version_asks_nothing_before_its_date(session, auth, client, customer_under_v1):
    publish_v2(session)
    with freeze_time("2026-11-30 12:00:00"):
        auth.login("camille@example.com")
        assert client.get("/space/preferences").status_code == 200
        assert reconsent_due(session, customer_under_v1.subject) is None


def test_a_minor_version_asks_nothing(session, auth, client, customer_under_v1):
    publish_v2(session, material=False)
    with freeze_time("2026-12-02 12:00:00"):
        auth.login("camille@example.com")
        assert client.get("/space/preferences").status_code == 200


def test_after_login_the_customer_confirms_and_renewed_events_go_under_the_new_version(
        session, auth, client, customer_under_v1):
    publish_v2(session)
    subject_id = customer_under_v1.subject.id
    before = [(e.id, e.hash, e.policy_version.label) for e in events(session, subject_id)]
    with freeze_time("2026-12-02 12:00:00"):
        response = auth.login("camille@example.com", follow_redirects=True)
        html = response.get_data(as_text=True)
        assert "Our privacy policy has changed" in html
        assert "/privacy/diff?from=v1&amp;to=v2" in html
        response = form_post(client, "/space/reconsent", {"active": ["newsletter", "sms"]})
        assert response.status_code == 302
        session.rollback()
        all_events = events(session, subject_id)
        # The old choices' history is intact.
        assert [(e.id, e.hash, e.policy_version.label) for e in all_events[:len(before)]] == before
        renewed = all_events[len(before):]
        assert {e.channel.code: (e.event_type, e.source, e.policy_version.label) for e in renewed}["newsletter"] \
            == (EventType.RENEWED, Source.RECONSENT, "v2")
        assert all(e.policy_version.label == "v2" and e.source == Source.RECONSENT for e in renewed)
        assert reconsent_due(session, find_by_email(session, "camille@example.com")) is None
        assert client.get("/space/preferences").status_code == 200


def test_the_customer_puts_it_off_and_the_old_choices_stay_valid(session, auth, client, customer_under_v1):
    publish_v2(session)
    with freeze_time("2026-12-02 12:00:00"):
        auth.login("camille@example.com")
        assert client.get("/space/preferences").headers["Location"].endswith("/space/reconsent")
        count = len(events(session, customer_under_v1.subject.id))
        response = form_post(client, "/space/reconsent", {}, action="/space/reconsent/later")
        assert response.headers["Location"].endswith("/space/preferences")
        html = client.get("/space/preferences").get_data(as_text=True)
        assert "Confirm your choices" in html
        session.rollback()
        assert len(events(session, customer_under_v1.subject.id)) == count
        assert reconsent_due(session, customer_under_v1.subject).version.label == "v2"
        assert client.get("/space/reconsent").status_code == 200
