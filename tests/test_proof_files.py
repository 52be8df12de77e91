"""A proof file uploaded with a staff change is kept only when an event that cites it commits."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from consent_center.accounts.staff_changes import Proof, record_on_behalf
from consent_center.ledger import Actor, current_states
from consent_center.models import Account, ConsentEvent, Role, Source, Subject
from consent_center.rights.effects import restrict

from .conftest import form_post

PROOF = b"%PDF-1.4 the form Camille signed at the Ghent shop"


@pytest.fixture
def support(make_account, auth):
    account = make_account("sam@example.com", role=Role.SUPPORT, name="Sam Support", locale="en")
    auth.login("sam@example.com")
    return account


def proofs(app) -> list[str]:
    folder = Path(app.instance_path) / "proofs"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def active_now(session, public_id: str) -> list[str]:
    session.rollback()
    subject = session.scalars(select(Subject).where(Subject.public_id == public_id)).one()
    return sorted(s.channel.code for s in current_states(session, subject).values() if s.status == "granted")


def record_with_proof(client, public_id: str, active: list[str], proof: bytes = PROOF):
    return form_post(client, f"/admin/people/{public_id}", {
        "active": active, "method": "paper_form", "evidence": "Signed form handed in at the shop",
        "proof": (io.BytesIO(proof), "form scan.pdf"),
    }, content_type="multipart/form-data")


def staff_events(session) -> list[tuple[str, str, dict]]:
    session.rollback()
    return [(e.public_id, e.channel.code, e.evidence)
            for e in session.scalars(select(ConsentEvent).where(ConsentEvent.source == Source.STAFF))]


def test_a_staff_change_that_changes_nothing_leaves_no_proof_file(app, client, session, customer, support):
    public_id = customer.subject.public_id
    form_post(client, f"/admin/people/{public_id}", {"active": ["newsletter"], "method": "phone",
                                                     "evidence": "Called on 2 May"})
    before = staff_events(session)
    assert before and active_now(session, public_id) == ["newsletter"]
    response = record_with_proof(client, public_id, ["newsletter"])
    assert response.status_code == 302
    assert "Nothing changed." in client.get(response.location).get_data(as_text=True)
    assert staff_events(session) == before
    assert proofs(app) == []


def test_a_staff_change_refused_by_a_restriction_leaves_no_proof_file(app, client, session, customer, support):
    public_id = customer.subject.public_id
    restrict(session, session.scalars(select(Subject).where(Subject.public_id == public_id)).one(),
             actor=Actor.system())
    session.commit()
    response = record_with_proof(client, public_id, ["newsletter"])
    assert response.status_code == 409
    assert staff_events(session) == []
    assert proofs(app) == []


def test_a_recorded_staff_change_keeps_its_proof_file(app, client, session, customer, support):
    response = record_with_proof(client, customer.subject.public_id, ["newsletter"])
    assert response.status_code == 302
    digest = hashlib.sha256(PROOF).hexdigest()
    [evidence] = [evidence for _, code, evidence in staff_events(session) if code == "newsletter"]
    assert evidence["proof"]["sha256"] == digest
    assert proofs(app) == [digest]
    assert (Path(app.instance_path) / "proofs" / digest).read_bytes() == PROOF


def test_a_refused_change_keeps_the_file_an_earlier_event_cites(app, client, session, customer, support):
    """Files are named by content: the same scan uploaded again and refused must not take the first one."""
    public_id = customer.subject.public_id
    assert record_with_proof(client, public_id, ["newsletter"]).status_code == 302
    assert record_with_proof(client, public_id, ["newsletter"]).status_code == 302  # no change this time
    restrict(session, session.scalars(select(Subject).where(Subject.public_id == public_id)).one(),
             actor=Actor.system())
    session.commit()
    assert record_with_proof(client, public_id, ["newsletter", "post"]).status_code == 409
    assert proofs(app) == [hashlib.sha256(PROOF).hexdigest()]


@pytest.mark.parametrize("end", ["rollback", "close"])
def test_a_recorded_change_whose_transaction_does_not_commit_leaves_no_proof_file(app, session, customer, support,
                                                                                 end):
    """The file is written before the commit (an event never cites a missing file) and goes if it never commits."""
    subject = session.scalars(select(Subject).where(Subject.public_id == customer.subject.public_id)).one()
    staff = session.scalars(select(Account).where(Account.email == "sam@example.com")).one()
    recorded = record_on_behalf(session, subject, {"newsletter"}, staff=staff, method="paper_form",
                                evidence_text="Signed form", proof=Proof("scan.pdf", PROOF), trace={})
    assert recorded.receipt is not None
    assert proofs(app) == [hashlib.sha256(PROOF).hexdigest()]
    session.rollback() if end == "rollback" else session.remove()
    assert proofs(app) == []
    assert staff_events(session) == []


def test_a_savepoint_released_inside_the_change_does_not_decide_for_the_proof(app, session, customer, support):
    subject = session.scalars(select(Subject).where(Subject.public_id == customer.subject.public_id)).one()
    staff = session.scalars(select(Account).where(Account.email == "sam@example.com")).one()
    record_on_behalf(session, subject, {"newsletter"}, staff=staff, method="paper_form",
                     evidence_text="Signed form", proof=Proof("scan.pdf", PROOF), trace={})
    with session.begin_nested():
        pass
    session.rollback()
    assert proofs(app) == []
