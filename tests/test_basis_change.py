"""A change of legal basis is a change: event, receipt, evidence (issue 21, item 7).

A customer's e-mail channel starts granted on the soft opt-in; an explicit
consent given over it (on the phone, on paper) is recorded as a consent
given, with its evidence and a receipt, by the single path and the bulk
path alike. A weaker basis never replaces a consent the person gave.
"""
from __future__ import annotations

import json

from freezegun import freeze_time
from sqlalchemy import select

from consent_center.ledger import Actor, current_states
from consent_center.ledger.bulk import Submission, record_many
from consent_center.models import Channel, ConsentEvent, Receipt, Subject
from consent_center.models.vocabulary import Source
from consent_center.subjects.service import create_subject

from .api_fixtures import assert_matches_spec
from .ledger_consistency import assert_ledger_consistent

PHONE_GRANT = {"channel": "email", "status": "granted", "source": "phone",
               "evidence": {"reference": "call 8812", "note": "said yes to our offers by e-mail"}}


def email_state(session, subject):
    session.rollback()
    subject = session.get(Subject, subject.id)
    channel = session.scalars(select(Channel).where(Channel.code == "email")).one()
    state = current_states(session, subject)[channel.id]
    found = state.status, state.basis
    session.remove()  # the request uses this thread's session: it starts afresh
    return found


def test_an_explicit_consent_over_a_soft_opt_in_is_recorded_with_its_evidence_and_receipt(
        app, api, session, make_subject):
    subject = make_subject("lea@example.com", is_customer=True)
    assert email_state(session, subject) == ("granted", "soft_opt_in")
    response = api.post(f"/subjects/{subject.public_id}/consents", json=PHONE_GRANT)
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert_matches_spec(app, body, "ConsentChangeResult")
    assert body["changed"] is True and body["receipt"]
    [event] = body["events"]
    assert (event["status"], event["previous_status"], event["basis"], event["event_type"]) == (
        "granted", "granted", "consent", "given")
    assert email_state(session, subject) == ("granted", "consent")
    stored = session.scalars(select(ConsentEvent).where(ConsentEvent.public_id == event["id"])).one()
    assert stored.evidence == {"reference": "call 8812", "note": "said yes to our offers by e-mail",
                               "collected_via": "phone"}
    receipt = session.get(Receipt, stored.receipt_id)
    assert receipt.public_id == body["receipt"]
    [listed] = json.loads(receipt.document)["events"]
    assert (listed["status"], listed["previousStatus"], listed["legalBasis"]) == ("granted", "granted", "consent")
    assert_ledger_consistent(session)
    session.rollback()
    # The check's answer is that of a consent now: allowed, on the basis the person gave.
    check = api.get(f"/check?channel=email&subject={subject.public_id}").get_json()
    assert (check["allowed"], check["status"], check["basis"]) == (True, "granted", "consent")
    # The same consent told again changes nothing.
    again = api.post(f"/subjects/{subject.public_id}/consents", json=PHONE_GRANT)
    assert again.status_code == 200 and again.get_json()["changed"] is False


def test_a_weaker_basis_never_replaces_a_consent_the_person_gave(api, session, make_subject):
    subject = make_subject("lea@example.com", is_customer=True)
    assert api.post(f"/subjects/{subject.public_id}/consents", json=PHONE_GRANT).status_code == 201
    session.rollback()
    recorded = record_many(session, [Submission(
        session.get(Subject, subject.id), {"email": "granted"}, Source.IMPORT, Actor.system(),
        basis={"email": "soft_opt_in"}, evidence={"text": "an older CRM file"})])
    session.commit()
    assert (recorded.receipts, recorded.events) == (0, 0)
    assert email_state(session, subject) == ("granted", "consent")
    assert_ledger_consistent(session)


def test_the_bulk_path_records_a_basis_change_as_the_single_path_does(session):
    with freeze_time("2026-03-02T09:00:00Z"):
        one = create_subject(session, actor=Actor.system(), email="one@example.com", is_customer=True)
        many = create_subject(session, actor=Actor.system(), email="many@example.com", is_customer=True)
        session.commit()
    paper = {"text": "signed paper form", "external_ref": "CRM-7"}
    from consent_center.ledger import record_change
    with freeze_time("2026-03-03T09:00:00Z"):
        single = record_change(session, one, {"email": "granted", "sms": "granted"}, source=Source.IMPORT,
                               actor=Actor.system(), basis={"email": "consent", "sms": "soft_opt_in"},
                               evidence=paper)
        bulk = record_many(session, [Submission(
            many, {"email": "granted", "sms": "granted"}, Source.IMPORT, Actor.system(),
            basis={"email": "consent", "sms": "soft_opt_in"}, evidence=paper)])
        session.commit()
    assert [(e.status, e.previous_status, e.basis, e.event_type) for e in single.events] == [
        ("granted", "granted", "consent", "given")]
    assert (bulk.receipts, bulk.events) == (1, 1)
    [event] = session.scalars(select(ConsentEvent).where(ConsentEvent.subject_id == many.id,
                                                         ConsentEvent.seq > 4)).all()
    assert (event.status, event.previous_status, event.basis, event.event_type, event.evidence) == (
        "granted", "granted", "consent", "given", paper)
    assert email_state(session, many) == ("granted", "consent")
    assert_ledger_consistent(session)


def test_a_customer_saving_unchanged_choices_gives_no_consent_over_the_soft_opt_in(
        client, auth, customer, session):
    auth.login(customer.email)
    from .conftest import form_post
    response = form_post(client, "/space/preferences", {"active": ["email", "sms", "post"]},
                         headers={"Accept-Language": "en"})
    assert response.status_code == 302
    assert "Nothing changed." in client.get(response.location).get_data(as_text=True)
    assert email_state(session, customer.subject) == ("granted", "soft_opt_in")


def test_the_export_names_the_new_basis_in_dpv_terms(api, session, make_subject, runner, tmp_path):
    subject = make_subject("lea@example.com", is_customer=True)
    assert api.post(f"/subjects/{subject.public_id}/consents", json=PHONE_GRANT).status_code == 201
    out = tmp_path / "events.jsonl"
    result = runner.invoke(args=["export", "events", "--format", "jsonl", "--channel", "email",
                                 "--output", str(out)])
    assert result.exit_code == 0, result.output
    last = json.loads(out.read_text().splitlines()[-1])
    assert (last["status"], last["previous_status"], last["basis"], last["dpv_status"]) == (
        "granted", "granted", "consent", "dpv:ConsentGiven")
    assert last["evidence"]["reference"] == "call 8812"
