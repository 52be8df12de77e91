"""/space/requests and /space/data: filing rights requests, due dates, the subject's export."""
import json
from datetime import datetime, timezone

import jsonschema
import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center.rights import requests as data_requests
from consent_center.config import PROJECT_ROOT
from consent_center.models import DataRequest, OutboxMessage

from .conftest import form_post


def file(client, kind="access", **data):
    return form_post(client, "/space/requests", {"kind": kind, **data})


def test_rule_request_is_due_within_the_legal_deadline(client, auth, customer, session):
    with freeze_time("2026-03-01 10:00:00"):
        auth.login("camille@example.com")
        response = file(client, "erasure")
        page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert response.status_code == 302
    session.rollback()
    request = session.scalars(select(DataRequest)).one()
    assert request.received_at == datetime(2026, 3, 1, 10, tzinfo=timezone.utc)
    assert request.due_at == datetime(2026, 3, 31, 10, tzinfo=timezone.utc)
    assert request.status == "received"
    assert "Erase my data" in page and "Received" in page


def test_filing_a_request_emails_an_acknowledgement_in_the_customer_language(client, auth, customer, session):
    auth.login("camille@example.com")
    file(client, "access")
    session.rollback()
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "request_received")).one()
    assert message.recipient == "camille@example.com"
    assert message.payload["locale"] == "en"


def test_post_mortem_instructions_keep_the_trusted_contact_and_the_wishes(client, auth, customer, session):
    auth.login("camille@example.com")
    assert file(client, "post_mortem").status_code == 422
    response = file(client, "post_mortem", trusted_contact="Lou, my sister", details="Erase everything")
    assert response.status_code == 302
    session.rollback()
    request = session.scalars(select(DataRequest)).one()
    assert (request.kind, request.trusted_contact, request.details) == ("post_mortem", "Lou, my sister",
                                                                       "Erase everything")


def test_a_customer_never_sees_another_customers_request(client, auth, customer, make_account, session):
    make_account("dominique@example.com", locale="fr")
    auth.login("dominique@example.com")
    location = file(client, "access").headers["Location"]
    assert client.get(location).status_code == 200
    auth.logout()
    auth.login("camille@example.com")
    assert client.get(location).status_code == 404
    assert location.rsplit("/", 1)[1] not in client.get("/space/requests").get_data(as_text=True)


def test_an_unknown_kind_of_request_is_refused_and_writes_nothing(client, auth, customer, session):
    auth.login("camille@example.com")
    assert file(client, "everything").status_code == 400
    session.rollback()
    assert session.scalars(select(DataRequest)).first() is None


def test_rule_request_extended_once_by_at_most_two_months_with_a_reason(session, customer):
    with freeze_time("2026-03-01 10:00:00"):
        request = data_requests.file_request(session, customer.subject, "access")
    with freeze_time("2026-03-20 10:00:00"):  # within the first month
        with pytest.raises(data_requests.RequestError):
            data_requests.extend(session, request, days=62, reason="complex", account_id=1)
        with pytest.raises(data_requests.RequestError):
            data_requests.extend(session, request, days=30, reason="  ", account_id=1)
        data_requests.extend(session, request, days=61, reason="Your file spans three systems.", account_id=1)
        assert request.due_at == datetime(2026, 5, 31, 10, tzinfo=timezone.utc)
        with pytest.raises(data_requests.RequestError):
            data_requests.extend(session, request, days=1, reason="again", account_id=1)


def test_the_queue_puts_overdue_then_soon_due_requests_first(session, customer, make_account):
    other = make_account("dominique@example.com").subject
    with freeze_time("2026-01-01"):
        late = data_requests.file_request(session, customer.subject, "access")
    with freeze_time("2026-02-01"):
        later = data_requests.file_request(session, other, "erasure")
    with freeze_time("2026-01-15"):
        soon = data_requests.file_request(session, other, "objection")
    with freeze_time("2026-02-10"):
        lines = data_requests.queue(session)
    assert [line.request for line in lines] == [late, soon, later]
    assert [(line.overdue, line.soon_due) for line in lines] == [(True, False), (False, True), (False, False)]
    with freeze_time("2026-01-31 00:00:00"):  # due at exactly this instant: not yet overdue
        assert not data_requests.is_overdue(late)
    with freeze_time("2026-01-31 00:00:01"):
        assert data_requests.is_overdue(late)


def test_my_data_shows_everything_held_and_the_json_validates_against_its_schema(client, auth, customer, session):
    auth.login("camille@example.com")
    file(client, "access", details="Please send all")
    page = client.get("/space/data").get_data(as_text=True)
    assert "camille@example.com" in page and "Camille Martin" in page
    response = client.get("/space/data.json")
    assert response.headers["Content-Disposition"].startswith("attachment")
    document = json.loads(response.get_data(as_text=True))
    schema = json.loads((PROJECT_ROOT / "docs" / "subject-export.schema.json").read_text())
    jsonschema.validate(document, schema, format_checker=jsonschema.FormatChecker())
    assert document["subject"]["email"] == "camille@example.com"
    assert document["account"]["email"] == "camille@example.com"
    assert len(document["consentEvents"]) >= 1 and len(document["receipts"]) >= 1
    assert document["requests"][0]["details"] == "Please send all"
    csv_body = client.get("/space/data.csv").get_data(as_text=True)
    assert csv_body.startswith("section,item,field,value")
    assert "subject,,email,camille@example.com" in csv_body


def test_the_schema_rejects_a_document_missing_the_subject(client, auth, customer):
    auth.login("camille@example.com")
    document = json.loads(client.get("/space/data.json").get_data(as_text=True))
    del document["subject"]
    schema = json.loads((PROJECT_ROOT / "docs" / "subject-export.schema.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)
