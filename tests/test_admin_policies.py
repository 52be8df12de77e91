"""Admins publish policy versions from the back office; texts are never edited."""
from datetime import datetime, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center.models import PolicyVersion, Role, StaffAction
from consent_center.models.policy import text_sha256
from consent_center.policies.service import policy_in_force, publish_policy

from .conftest import form_post

TEXTS = {"text_fr": "# Politique\n\nVersion 2.", "text_nl": "# Beleid\n\nVersie 2.",
         "text_en": "# Policy\n\nVersion 2."}


def publish_future_version(client):
    response = form_post(client, "/admin/policies", {"label": "2027-01", "effective_date": "2027-01-01",
                                                     "effective_time": "00:00", "material": "y", **TEXTS})
    assert response.status_code == 302, response.headers.get("Location")


@pytest.fixture
def admin(make_account, auth, session):
    publish_policy(session, "2018-11-26", {"en": "Policy 2018"},
                   effective_at=datetime(2018, 11, 26, tzinfo=timezone.utc))
    session.commit()
    account = make_account("ada@example.com", role=Role.ADMIN, locale="en")
    auth.login("ada@example.com")
    return account


def test_a_future_version_is_published_with_its_hashes_and_applies_only_from_its_date(
        client, session, auth, admin):
    with freeze_time("2026-11-22 10:00:00"):
        auth.login("ada@example.com")
        publish_future_version(client)
        html = client.get("/admin/policies").get_data(as_text=True)
    session.rollback()
    version = session.scalars(select(PolicyVersion).where(PolicyVersion.label == "2027-01")).one()
    # Midnight in Paris is 23:00 UTC the day before.
    assert version.effective_at == datetime(2026, 12, 31, 23, 0, tzinfo=timezone.utc)
    assert version.material
    assert {t.locale: t.sha256 for t in version.texts} == {
        "fr": text_sha256(TEXTS["text_fr"]), "nl": text_sha256(TEXTS["text_nl"]), "en": text_sha256(TEXTS["text_en"])}
    assert policy_in_force(session).label == "2018-11-26"
    assert text_sha256(TEXTS["text_nl"]) in html and "upcoming" in html
    action = session.scalars(select(StaffAction)).one()
    assert (action.action, action.target) == ("policy.published", "policy:2027-01")
    with freeze_time("2026-12-31 22:59:59"):
        assert policy_in_force(session).label == "2018-11-26"
        assert "Policy 2018" in client.get("/privacy?locale=en").get_data(as_text=True)
    with freeze_time("2026-12-31 23:00:00"):
        assert policy_in_force(session).label == "2027-01"


def test_a_published_label_is_refused_and_the_form_kept(client, session, admin):
    response = form_post(client, "/admin/policies", {"label": "2018-11-26", **TEXTS})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "a correction is a new version" in html and "Versie 2." in html
    session.rollback()
    assert [t.body for t in session.scalars(select(PolicyVersion)).one().texts] == ["Policy 2018"]


def test_a_version_without_text_or_in_the_past_is_refused(client, admin):
    response = form_post(client, "/admin/policies", {"label": "empty"})
    assert response.status_code == 400
    assert "at least one language" in response.get_data(as_text=True)
    response = form_post(client, "/admin/policies", {"label": "late", "effective_date": "2020-01-01", **TEXTS})
    assert response.status_code == 400
    assert "in the past" in response.get_data(as_text=True)
