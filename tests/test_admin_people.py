"""Support finds a person and records a change on their behalf, with evidence."""
import hashlib
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from consent_center.models import ConsentEvent, Role, StaffAction, Source

from .conftest import account_by_email, csrf_from, form_post


@pytest.fixture
def support(make_account, auth):
    account = make_account("sam@example.com", role=Role.SUPPORT, name="Sam Support", locale="en")
    auth.login("sam@example.com")
    return account


def person_page(customer):
    return f"/admin/people/{customer.subject.public_id}"


def test_support_finds_a_person_by_email(client, customer, support):
    html = client.get("/admin/people?q=camille").get_data(as_text=True)
    assert customer.subject.public_id in html


def test_a_change_without_evidence_is_refused_and_the_form_kept(client, session, customer, support):
    page = person_page(customer)
    response = form_post(client, page, {"active": ["newsletter"], "method": "phone", "evidence": "  "})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'value="newsletter"' in html and 'id="ch-newsletter"' in html
    assert 'aria-invalid="true"' in html
    assert re.search(r'value="newsletter"\s+aria-describedby="state-newsletter" checked', html)
    assert "Called" not in html and "Say how the customer expressed this choice." in html
    session.rollback()
    assert session.scalar(select(func.count()).select_from(StaffAction)) == 0
    assert session.scalar(select(func.count()).select_from(ConsentEvent)
                          .where(ConsentEvent.source == Source.STAFF)) == 0


def test_a_phone_change_is_recorded_as_staff_with_evidence_proof_and_a_log_line(
        app, client, session, customer, support):
    proof = b"%PDF-1.4 signed paper form"
    response = form_post(client, person_page(customer), {
        "active": ["newsletter"], "method": "paper_form", "evidence": "Signed form handed in at the Ghent shop",
        "proof": (io.BytesIO(proof), "form scan.pdf"),
    }, content_type="multipart/form-data")
    assert response.status_code == 302
    session.rollback()
    staff = account_by_email(session, "sam@example.com")
    events = {e.channel.code: e for e in session.scalars(
        select(ConsentEvent).where(ConsentEvent.source == Source.STAFF))}
    event = events["newsletter"]
    digest = hashlib.sha256(proof).hexdigest()
    assert event.status == "granted" and event.channel.code == "newsletter"
    assert (event.actor_type, event.actor_id) == ("account", str(staff.id))
    assert event.evidence["text"] == "Signed form handed in at the Ghent shop"
    assert event.evidence["proof"] == {"sha256": digest, "filename": "form scan.pdf", "size": len(proof)}
    assert (Path(app.instance_path) / "proofs" / digest).read_bytes() == proof
    action = session.scalars(select(StaffAction)).one()
    assert (action.account_id, action.action) == (staff.id, "consent.recorded_on_behalf")
    assert action.target == f"subject:{customer.subject.public_id}"
    assert action.details["changes"] == {code: e.status for code, e in events.items()}
    assert action.details["changes"]["newsletter"] == "granted"


def test_the_customer_and_the_auditor_see_the_change_as_done_by_staff(
        client, auth, session, customer, support, make_account):
    form_post(client, person_page(customer), {"active": ["post"], "method": "phone",
                                              "evidence": "Called on 22 Nov"})
    auth.logout()
    auth.login(customer.email)
    html = client.get("/space/history").get_data(as_text=True)
    assert "Customer service" in html and "staff account" in html
    auth.logout()
    make_account("audrey@example.com", role=Role.AUDITOR, locale="en")
    auth.login("audrey@example.com")
    html = client.get(f"/audit/subjects/{customer.subject.public_id}").get_data(as_text=True)
    assert "Customer service" in html and "Called on 22 Nov" in html


@pytest.mark.settings(PROOF_MAX_BYTES=10)
def test_a_proof_file_too_large_is_refused(client, session, customer, support):
    response = form_post(client, person_page(customer), {
        "active": ["newsletter"], "method": "phone", "evidence": "Called",
        "proof": (io.BytesIO(b"x" * 11), "big.pdf"),
    }, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "too large" in response.get_data(as_text=True)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(StaffAction)) == 0


def test_the_admin_reads_the_staff_action_log(client, auth, session, customer, support, make_account):
    form_post(client, person_page(customer), {"active": ["newsletter"], "method": "phone", "evidence": "Called"})
    auth.logout()
    make_account("ada@example.com", role=Role.ADMIN, locale="en")
    auth.login("ada@example.com")
    html = client.get("/admin/log").get_data(as_text=True)
    assert "sam@example.com" in html and "Recorded a change on a customer" in html
    assert customer.subject.public_id in html


def test_the_staff_home_and_the_nav_lead_to_the_back_office(client, support):
    html = client.get("/staff").get_data(as_text=True)
    assert 'href="/admin/"' in html
