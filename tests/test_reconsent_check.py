"""Re-consent in the check API: on a channel that requires it, a grant made before a material
policy version stops counting once the grace period (CONSENT_RECONSENT_GRACE_DAYS) is over."""
from datetime import datetime, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center.policies.channels import find_channel, set_requires_reconsent
from consent_center.ledger import Actor, record_change
from consent_center.models import Role, Source, StaffAction
from consent_center.policies.service import publish_policy

from .api_fixtures import assert_matches_spec
from .conftest import form_post

V1 = datetime(2018, 11, 26, tzinfo=timezone.utc)
V2 = datetime(2026, 12, 1, tzinfo=timezone.utc)  # material; 30 days of grace: until 2026-12-31
EMAIL = "camille@example.com"
BEFORE_GRACE_END = "2026-12-30 12:00:00"
AFTER_GRACE_END = "2026-12-31 12:00:00"


@pytest.fixture
def camille(session, make_account):
    """A customer who granted the newsletter and SMS under v1; v2 (material) is published."""
    publish_policy(session, "v1", {"en": "Policy one"}, effective_at=V1)
    session.commit()
    with freeze_time("2026-11-01 10:00:00"):
        account = make_account(EMAIL, name="Camille Martin", locale="en")
        record_change(session, account.subject, {"newsletter": "granted", "sms": "granted", "post": "refused"},
                      source=Source.CUSTOMER_SPACE, actor=Actor.system())
        session.commit()
    publish_policy(session, "v2", {"en": "Policy two"}, effective_at=V2, material=True)
    session.commit()
    return account


def require_reconsent(session, code="newsletter", required=True):
    set_requires_reconsent(session, find_channel(session, code), required)
    session.commit()


def check(api, channel="newsletter", **params):
    query = "&".join(f"{k}={v}" for k, v in {"channel": channel, "email": EMAIL, **params}.items())
    response = api.get(f"/check?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def bulk(api, channel="newsletter"):
    response = api.post("/check", json={"channel": channel, "emails": [EMAIL, "nobody@example.com", EMAIL]})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["results"]


def test_before_the_grace_period_ends_the_earlier_grant_still_counts(session, api, camille):
    require_reconsent(session)
    with freeze_time(BEFORE_GRACE_END):
        body = check(api)
        assert (body["allowed"], body["status"], body["policy_version"]) == (True, "granted", "v1")
        assert bulk(api)[0]["allowed"] is True


def test_after_the_grace_period_the_grant_needs_reconsent(app, session, api, camille):
    require_reconsent(session)
    with freeze_time(AFTER_GRACE_END):
        body = check(api)
        assert (body["allowed"], body["status"]) == (False, "reconsent_required")
        # The rest of the answer keeps its shape and says what the grant was made under.
        assert (body["basis"], body["policy_version"]) == ("consent", "v1")
        assert body["changed_at"].startswith("2026-11-01T10:00:00")
        assert_matches_spec(app, body, "CheckResult")
        # A refusal stays a refusal; only grants lapse.
        require_reconsent(session, "post")
        assert check(api, channel="post")["status"] == "refused"


def test_a_channel_without_the_flag_is_unaffected(session, api, camille):
    require_reconsent(session, "newsletter")
    with freeze_time(AFTER_GRACE_END):
        body = check(api, channel="sms")
        assert (body["allowed"], body["status"], body["policy_version"]) == (True, "granted", "v1")
        assert bulk(api, "sms")[0]["status"] == "granted"


def test_legitimate_interest_and_soft_opt_in_do_not_need_reconsent(session, api, camille, make_account):
    with freeze_time("2026-11-01 10:00:00"):
        make_account("tom@example.com", locale="en")  # post on legitimate interest, e-mail soft opt-in
    require_reconsent(session, "post")
    require_reconsent(session, "email")
    with freeze_time(AFTER_GRACE_END):
        post = check(api, channel="post", email="tom@example.com")
        assert (post["allowed"], post["basis"]) == (True, "legitimate_interest")
        email = check(api, channel="email", email="tom@example.com")
        assert (email["allowed"], email["basis"]) == (True, "soft_opt_in")


def test_without_a_material_version_the_flag_changes_nothing(session, api, make_account):
    publish_policy(session, "v1", {"en": "Policy one"}, effective_at=V1)
    publish_policy(session, "v1.1", {"en": "Policy one, typo fixed"}, effective_at=V2)
    session.commit()
    with freeze_time("2026-11-01 10:00:00"):
        account = make_account(EMAIL, locale="en")
        record_change(session, account.subject, {"newsletter": "granted"}, source=Source.CUSTOMER_SPACE,
                      actor=Actor.system())
        session.commit()
    require_reconsent(session)
    with freeze_time("2027-06-01 12:00:00"):
        assert check(api)["allowed"] is True


def test_confirming_in_the_reconsent_flow_makes_the_contact_allowed_again(session, api, auth, client, camille):
    require_reconsent(session)
    with freeze_time(AFTER_GRACE_END):
        assert check(api)["status"] == "reconsent_required"
        auth.login(EMAIL)
        response = form_post(client, "/space/reconsent", {"active": ["newsletter", "sms"]})
        assert response.status_code == 302
        body = check(api)
        assert (body["allowed"], body["status"], body["policy_version"]) == (True, "granted", "v2")
        assert [r["status"] for r in bulk(api)] == ["granted", "unknown", "granted"]


def test_bulk_answers_like_the_single_check(session, api, camille):
    require_reconsent(session)
    with freeze_time(AFTER_GRACE_END):
        single = check(api)
        results = bulk(api)
        assert results[0] == results[2] == single
        assert results[1]["status"] == "unknown"
        response = api.post("/check", json={"channel": "newsletter", "subjects": [camille.subject.public_id]})
        assert response.get_json()["results"][0]["status"] == "reconsent_required"
        compact = api.post("/check", json={"channel": "newsletter", "emails": [EMAIL, "nobody@example.com"],
                                           "answer": "allowed"})
        assert compact.get_json()["allowed"] == [False, False]
    with freeze_time(BEFORE_GRACE_END):
        compact = api.post("/check", json={"channel": "newsletter", "emails": [EMAIL], "answer": "allowed"})
        assert compact.get_json()["allowed"] == [True]


def test_the_historical_check_uses_the_version_and_grace_in_force_then(session, api, auth, client, camille):
    require_reconsent(session)
    with freeze_time("2027-01-05 12:00:00"):
        auth.login(EMAIL)
        assert form_post(client, "/space/reconsent", {"active": ["newsletter"]}).status_code == 302
    with freeze_time("2027-02-01 12:00:00"):
        then = check(api, at="2026-12-30T12:00:00Z")
        assert (then["allowed"], then["status"], then["policy_version"]) == (True, "granted", "v1")
        lapsed = check(api, at="2026-12-31T12:00:00Z")
        assert (lapsed["allowed"], lapsed["status"], lapsed["policy_version"]) == (False, "reconsent_required", "v1")
        assert lapsed["event"] == then["event"] and lapsed["receipt"]
        renewed = check(api, at="2027-01-06T00:00:00Z")
        assert (renewed["allowed"], renewed["status"], renewed["policy_version"]) == (True, "granted", "v2")
        assert check(api) == {k: v for k, v in renewed.items() if k not in ("at", "event", "receipt")}


def test_the_grace_period_is_a_setting(app, session, api, camille):
    app.config["RECONSENT_GRACE_DAYS"] = 3
    require_reconsent(session)
    with freeze_time("2026-12-03 12:00:00"):
        assert check(api)["allowed"] is True
    with freeze_time("2026-12-04 12:00:00"):
        assert check(api)["status"] == "reconsent_required"


def test_an_admin_sets_the_flag_from_the_channels_page_and_it_is_logged(session, api, auth, client, camille,
                                                                         make_account):
    make_account("ada@example.com", role=Role.ADMIN, locale="en")
    with freeze_time(AFTER_GRACE_END):
        assert check(api)["allowed"] is True  # the channel cache now holds the flag off
        auth.login("ada@example.com")
        html = client.get("/admin/channels").get_data(as_text=True)
        assert "Require re-consent on newsletter" in html
        response = form_post(client, "/admin/channels", {"required": "yes"},
                             action="/admin/channels/newsletter/reconsent")
        assert response.status_code == 302
        assert "now stops counting 30 days after" in client.get("/admin/channels").get_data(as_text=True)
        # The cache is refreshed at once in this process: no minute to wait.
        assert check(api)["status"] == "reconsent_required"
        session.rollback()
        assert find_channel(session, "newsletter").requires_reconsent is True
        log = session.scalars(select(StaffAction).order_by(StaffAction.id)).all()
        assert [(a.action, a.target, a.details) for a in log] == [
            ("channel.reconsent_required", "channel:newsletter", {"requires_reconsent": True})]
        session.rollback()
        response = form_post(client, "/admin/channels", {"required": "no"},
                             action="/admin/channels/newsletter/reconsent")
        assert response.status_code == 302
        assert check(api)["allowed"] is True
        session.rollback()
        assert session.scalars(select(StaffAction.action).order_by(StaffAction.id.desc())).first() \
            == "channel.reconsent_not_required"


def test_a_bad_value_or_no_csrf_token_changes_nothing(session, auth, client, make_account):
    make_account("ada@example.com", role=Role.ADMIN, locale="en")
    auth.login("ada@example.com")
    response = form_post(client, "/admin/channels", {"required": "maybe"},
                         action="/admin/channels/newsletter/reconsent")
    assert response.status_code == 400
    assert client.post("/admin/channels/newsletter/reconsent", data={"required": "yes"}).status_code == 400
    session.rollback()
    assert find_channel(session, "newsletter").requires_reconsent is False
    assert session.scalars(select(StaffAction)).first() is None


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.AUDITOR, Role.CUSTOMER])
def test_only_admins_set_the_flag(session, auth, client, make_account, role):
    make_account("someone@example.com", role=role, locale="en")
    auth.login("someone@example.com")
    response = form_post(client, "/privacy", {"required": "yes"}, action="/admin/channels/newsletter/reconsent")
    assert response.status_code in (403, 404)
    session.rollback()
    assert find_channel(session, "newsletter").requires_reconsent is False
