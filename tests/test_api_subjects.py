"""Subjects from a CRM: create, read, change; bad input writes nothing."""
import pytest
from sqlalchemy import select

from consent_center.ledger.chain import replay_states, stored_states
from consent_center.models import ConsentEvent, Subject

from .api_fixtures import assert_matches_spec, assert_problem, db_counts

NEW = {"email": " Lea.Martin@Example.COM ", "phone": "06 12 34 56 78", "name": "Léa Martin",
       "locale": "fr", "external_ref": "CRM-1", "postal_address": "1 rue de la Paix\n75002 Paris",
       "is_customer": True}


def test_create_normalises_and_records_channel_defaults(app, api, session):
    response = api.post("/subjects", json=NEW)
    assert response.status_code == 201
    body = response.get_json()
    assert_matches_spec(app, body, "Subject")
    assert body["email"] == "lea.martin@example.com"
    assert body["phone"] == "+33612345678"
    assert body["is_customer"] is True and body["external_ref"] == "CRM-1"
    assert response.headers["Location"] == f"/api/v1/subjects/{body['id']}"
    session.rollback()
    subject = session.scalars(select(Subject).where(Subject.public_id == body["id"])).one()
    assert str(subject.id) != body["id"] and "country" not in body
    events = session.scalars(select(ConsentEvent).where(ConsentEvent.subject_id == subject.id)).all()
    assert {e.channel.code for e in events} == {"email", "sms", "post", "newsletter"}
    assert {e.actor_type for e in events} == {"api_client"}
    assert replay_states(session) == stored_states(session)


def test_phone_is_read_in_the_given_country(api):
    body = api.post("/subjects", json={"phone": "0470 12 34 56", "country": "BE", "locale": "nl"}).get_json()
    assert body["phone"] == "+32470123456"
    nl = api.post("/subjects", json={"phone": "06 12345678", "locale": "nl"}).get_json()
    assert nl["phone"] == "+31612345678"


@pytest.mark.parametrize("payload, pointer", [
    ({"email": "not-an-address"}, "/email"),
    ({"email": "a@example.com", "phone": "123"}, "/phone"),
    ({"email": "a@example.com", "locale": "de"}, "/locale"),
    ({"email": "a@example.com", "is_customer": "maybe"}, "/is_customer"),
    ({"email": 42}, "/email"),
    ({"email": "a@example.com", "id": "mine"}, "/id"),
    ({"name": "Nobody"}, "/email"),
])
def test_invalid_subjects_are_422_with_the_field_and_write_nothing(api, session, payload, pointer):
    before = db_counts(session)
    body = assert_problem(api.post("/subjects", json=payload), 422, "validation-error")
    assert pointer in [e["pointer"] for e in body["errors"]]
    assert db_counts(session) == before


@pytest.mark.parametrize("field, value", [("email", "LEA.MARTIN@example.com"), ("external_ref", "CRM-1")])
def test_duplicate_email_or_external_ref_is_a_409(api, session, field, value):
    assert api.post("/subjects", json=NEW).status_code == 201
    before = db_counts(session)
    other = {"email": "other@example.com", "external_ref": "CRM-2"} | {field: value}
    body = assert_problem(api.post("/subjects", json=other), 409, "conflict")
    assert body["errors"][0]["pointer"] == f"/{field}"
    assert db_counts(session) == before


def test_get_and_patch_a_subject(app, api):
    created = api.post("/subjects", json=NEW).get_json()
    path = f"/subjects/{created['id']}"
    assert api.get(path).get_json() == created
    changed = api.patch(path, json={"email": "Lea@Example.org", "name": None, "phone": "+32 470 12 34 56"})
    assert changed.status_code == 200
    body = changed.get_json()
    assert_matches_spec(app, body, "Subject")
    assert (body["email"], body["name"], body["phone"]) == ("lea@example.org", None, "+32470123456")
    assert body["external_ref"] == "CRM-1"


def test_patch_to_a_taken_email_is_a_409_and_changes_nothing(api):
    first = api.post("/subjects", json=NEW).get_json()
    second = api.post("/subjects", json={"email": "tom@example.com"}).get_json()
    assert_problem(api.patch(f"/subjects/{second['id']}", json={"email": first["email"]}), 409, "conflict")
    assert api.get(f"/subjects/{second['id']}").get_json()["email"] == "tom@example.com"


def test_patch_cannot_leave_a_subject_without_any_contact(api):
    created = api.post("/subjects", json={"email": "tom@example.com"}).get_json()
    assert_problem(api.patch(f"/subjects/{created['id']}", json={"email": None}), 422)
    assert api.get(f"/subjects/{created['id']}").get_json()["email"] == "tom@example.com"


def test_unknown_subject_is_a_404_problem(api):
    assert_problem(api.get("/subjects/nope"), 404, "not-found")
    assert_problem(api.patch("/subjects/nope", json={"name": "x"}), 404, "not-found")
