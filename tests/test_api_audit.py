"""The API's audit endpoints: a receipt with its signature, and the streamed export."""
import json

from sqlalchemy import func, select

from consent_center.ledger import Actor, record_change
from consent_center.models import ConsentEvent, Receipt, Source

from .api_fixtures import assert_problem


def withdraw(session, subject, channel="sms"):
    recorded = record_change(session, subject, {channel: "withdrawn"}, source=Source.API, actor=Actor.system())
    session.commit()
    return recorded.receipt.public_id


def test_receipt_answers_the_document_and_a_jws_that_verifies(api, make_subject, session, runner, tmp_path):
    subject = make_subject(is_customer=True)
    receipt_id = withdraw(session, subject)
    response = api.get(f"/receipts/{receipt_id}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["receipt_id"] == receipt_id and body["alg"] == "EdDSA"
    assert body["document"]["consentReceiptID"] == receipt_id
    assert body["jwks_uri"].endswith("/.well-known/jwks.json")
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(body))
    result = runner.invoke(args=["receipt", "verify", str(path)])
    assert result.exit_code == 0, result.output


def test_receipt_needs_audit_scope_and_an_existing_id(api_with, make_subject, session):
    receipt_id = withdraw(session, make_subject(is_customer=True))
    assert_problem(api_with("consent:read").get(f"/receipts/{receipt_id}"), 403)
    assert_problem(api_with("audit:read").get("/receipts/nope"), 404, "not-found")


def test_export_streams_every_event_once_as_jsonl(api_with, make_subject, session):
    subject = make_subject(is_customer=True)
    withdraw(session, subject)
    auditor = api_with("audit:read")
    response = auditor.get("/export/events?format=jsonl", buffered=True)
    assert response.status_code == 200 and response.mimetype == "application/jsonl"
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert len(lines) == session.scalar(select(func.count()).select_from(ConsentEvent))
    assert len({line["event_id"] for line in lines}) == len(lines)
    again = auditor.get("/export/events?format=jsonl", buffered=True).get_data()
    assert again == response.get_data()  # byte-stable


def test_export_filters_and_csv(api_with, make_subject, session):
    subject = make_subject(is_customer=True)
    withdraw(session, subject, "email")
    response = api_with("audit:read").get(f"/export/events?format=csv&channel=email&source=api", buffered=True)
    rows = response.get_data(as_text=True).strip().splitlines()
    assert response.mimetype == "text/csv" and len(rows) == 2
    assert "withdrawn" in rows[1] and ",email," in rows[1]


def test_export_refuses_bad_filters_with_a_problem(api_with):
    auditor = api_with("audit:read")
    assert_problem(auditor.get("/export/events?channel=fax"), 422)
    assert_problem(auditor.get("/export/events?since=yesterday"), 422)
    assert_problem(auditor.get("/export/events?format=xml"), 422)
    assert_problem(api_with("consent:read").get("/export/events"), 403)
