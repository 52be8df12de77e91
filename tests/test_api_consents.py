"""A subject's consents through the API: read them, record changes with evidence."""
import json
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center.ledger.chain import verify_chains
from consent_center.models import ConsentEvent, Receipt

from .api_fixtures import assert_matches_spec, assert_problem, db_counts


def test_list_consents_shows_every_channel(app, api, make_subject):
    subject = make_subject("lea@example.com", is_customer=True)
    body = api.get(f"/subjects/{subject.public_id}/consents").get_json()
    assert_matches_spec(app, body, "SubjectConsents")
    by_channel = {c["channel"]: c for c in body["consents"]}
    assert list(by_channel) == ["email", "sms", "post", "newsletter"]
    assert by_channel["email"]["status"] == "granted" and by_channel["email"]["allowed"] is True
    assert by_channel["newsletter"]["status"] == "never_asked" and by_channel["newsletter"]["event"]


def test_recording_a_grant_answers_201_with_event_and_receipt(app, api, session, make_subject):
    subject = make_subject("lea@example.com")
    response = api.post(f"/subjects/{subject.public_id}/consents",
                        json={"channel": "newsletter", "status": "granted", "source": "api"})
    assert response.status_code == 201
    body = response.get_json()
    assert_matches_spec(app, body, "ConsentChangeResult")
    assert body["changed"] is True and len(body["events"]) == 1
    event = body["events"][0]
    assert (event["channel"], event["status"], event["previous_status"], event["source"]) == (
        "newsletter", "granted", "never_asked", "api")
    session.rollback()
    stored = session.scalars(select(ConsentEvent).where(ConsentEvent.public_id == event["id"])).one()
    assert session.get(Receipt, stored.receipt_id).public_id == body["receipt"]
    assert stored.actor_type == "api_client"
    assert verify_chains(session).ok
    check = api.get(f"/check?channel=newsletter&subject={subject.public_id}").get_json()
    assert check["allowed"] is True


def test_recording_the_same_status_again_is_200_unchanged(api, make_subject):
    subject = make_subject("lea@example.com")
    change = {"channel": "sms", "status": "withdrawn", "source": "api"}
    assert api.post(f"/subjects/{subject.public_id}/consents", json=change).status_code == 201
    again = api.post(f"/subjects/{subject.public_id}/consents", json=change)
    assert again.status_code == 200
    assert again.get_json() == {"changed": False, "subject": subject.public_id, "events": [], "receipt": None}


def test_phone_source_needs_evidence_and_is_recorded_as_staff(api, session, make_subject):
    subject = make_subject("lea@example.com")
    path = f"/subjects/{subject.public_id}/consents"
    before = db_counts(session)
    body = assert_problem(api.post(path, json={"channel": "sms", "status": "granted", "source": "phone"}), 422)
    assert body["errors"][0]["pointer"] == "/evidence"
    assert db_counts(session) == before
    with freeze_time("2026-05-02T10:00:00Z"):
        ok = api.post(path, json={"channel": "sms", "status": "granted", "source": "phone",
                                  "evidence": {"reference": "call 8812", "collected_by": "Sam"},
                                  "occurred_at": "2026-05-01T16:30:00+02:00"})
    assert ok.status_code == 201
    event = ok.get_json()["events"][0]
    assert event["source"] == "staff"
    assert event["occurred_at"] == "2026-05-02T10:00:00+00:00"  # the server's clock
    session.rollback()
    stored = session.scalars(select(ConsentEvent).where(ConsentEvent.public_id == event["id"])).one()
    assert stored.evidence == {"reference": "call 8812", "collected_by": "Sam",
                               "collected_at": "2026-05-01T14:30:00+00:00", "collected_via": "phone"}


@pytest.mark.parametrize("change, pointer", [
    ({"channel": "fax", "status": "granted", "source": "api"}, "/channel"),
    ({"channel": "sms", "status": "maybe", "source": "api"}, "/status"),
    ({"channel": "sms", "status": "expired", "source": "api"}, "/status"),
    ({"channel": "sms", "status": "granted", "source": "telepathy"}, "/source"),
    ({"channel": "sms", "status": "granted"}, "/source"),
    ({"channel": ["sms"], "status": "granted", "source": "api"}, "/channel"),
    ({"channel": "sms", "status": "granted", "source": "api", "evidence": "yes"}, "/evidence"),
    ({"channel": "sms", "status": "granted", "source": "api", "evidence": {"foo": 1}}, "/evidence/foo"),
    ({"channel": "sms", "status": "granted", "source": "api", "occurred_at": "soon"}, "/occurred_at"),
])
def test_invalid_changes_are_422_naming_the_field_and_write_nothing(api, session, make_subject, change, pointer):
    subject = make_subject("lea@example.com")
    before = db_counts(session)
    body = assert_problem(api.post(f"/subjects/{subject.public_id}/consents", json=change), 422)
    assert pointer in [e["pointer"] for e in body["errors"]]
    assert db_counts(session) == before


def test_occurred_at_in_the_future_is_refused(api, session, make_subject):
    subject = make_subject("lea@example.com")
    before = db_counts(session)
    future = (datetime.now(timezone.utc) + timedelta(minutes=5)).isoformat()
    body = assert_problem(api.post(f"/subjects/{subject.public_id}/consents", json={
        "channel": "sms", "status": "granted", "source": "api", "occurred_at": future}), 422)
    assert body["errors"][0]["pointer"] == "/occurred_at"
    assert db_counts(session) == before


@pytest.mark.parametrize("data, content_type, status", [
    ('{"channel": "sms",', "application/json", 400),
    ("[1, 2]", "application/json", 422),
    ('{"channel": NaN}', "application/json", 400),
    ("\xff\xfe", "application/json", 400),
    ('{"channel": "\\udc00sms", "status": "granted", "source": "api"}', "application/json", 400),
    ("channel=sms", "application/x-www-form-urlencoded", 415),
    ('{"channel": "sms"}', "text/plain", 415),
])
def test_malformed_bodies_are_problems_and_write_nothing(api, session, make_subject, data, content_type, status):
    subject = make_subject("lea@example.com")
    before = db_counts(session)
    response = api.client.post(f"/api/v1/subjects/{subject.public_id}/consents", data=data,
                               headers={"Authorization": f"Bearer {api.key}", "Content-Type": content_type})
    assert_problem(response, status)
    assert db_counts(session) == before


def test_unknown_subject_is_404(api):
    assert_problem(api.post("/subjects/nobody/consents", json={"channel": "sms", "status": "granted",
                                                                "source": "api"}), 404)
    assert_problem(api.get("/subjects/nobody/consents"), 404)


def test_a_400_body_is_json(api):
    response = api.client.post("/api/v1/check", data="{", headers={
        "Authorization": f"Bearer {api.key}", "Content-Type": "application/json"})
    assert json.loads(response.get_data(as_text=True))["status"] == 400


def test_rule_an_opt_out_is_undone_through_the_api_only_with_evidence_of_a_new_consent(api, make_subject):
    subject = make_subject("optout@example.com")
    path = f"/subjects/{subject.public_id}/consents"
    assert api.post(path, json={"channel": "email", "status": "withdrawn", "source": "api"}).status_code == 201
    bare = api.post(path, json={"channel": "email", "status": "granted", "source": "import"})
    assert bare.status_code == 422 and bare.get_json()["errors"][0]["pointer"] == "/evidence"
    documented = api.post(path, json={"channel": "email", "status": "granted", "source": "import",
                                      "evidence": {"reference": "signed form 2027-118"}})
    assert documented.status_code == 201


def test_a_choice_collected_before_a_later_withdrawal_does_not_undo_it(api, make_subject):
    subject = make_subject("earlier@example.com")
    path = f"/subjects/{subject.public_id}/consents"
    assert api.post(path, json={"channel": "email", "status": "withdrawn", "source": "api"}).status_code == 201
    stale = api.post(path, json={"channel": "email", "status": "granted", "source": "api",
                                 "occurred_at": "2020-01-01T10:00:00+00:00"})
    assert stale.status_code == 422 and stale.get_json()["errors"][0]["pointer"] == "/occurred_at"
