"""/admin/requests: identity check, then restriction, objection and erasure through the ledger."""
import csv
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import inspect, select, text

from consent_center.subjects import crm
from consent_center.unsubscribe import newsletter
from consent_center.ledger.chain import verify_chains
from consent_center.check.channels import channel_id
from consent_center.check.service import check_one
from consent_center.extensions import db
from consent_center.ledger import Actor, current_states, record_change
from consent_center.models import Account, ConsentEvent, DataRequest, OutboxMessage, Receipt, Role, Source, Subject
from consent_center.policies.service import publish_policy
from consent_center.receipts.keys import key_ring
from consent_center.receipts.documents import verify_receipt

from .api_fixtures import ApiClient
from .conftest import form_post

# How the staff member checked the requester (rights.requests.IDENTITY_METHODS) and the evidence.
IDENTITY_CHECK = {"method": "known_session", "evidence": "Filed from the customer space"}

CHANNELS = ("email", "sms", "post", "newsletter")
PERSONAL = {"name": "Camille Martin", "email": "camille@example.com", "phone": "+33612345678",
            "postal_address": "12 rue des Lilas, 75011 Paris"}


@pytest.fixture
def person(session, customer):
    subject = customer.subject
    subject.phone, subject.postal_address = PERSONAL["phone"], PERSONAL["postal_address"]
    record_change(session, subject, {"newsletter": "granted"}, source=Source.CUSTOMER_SPACE,
                  actor=Actor("subject", subject.public_id))
    public_id = subject.public_id
    session.commit()
    return public_id


@pytest.fixture
def clock():
    """The clock frozen now, for a test that moves it on (``lift_after_notice``)."""
    with freeze_time(datetime.now(timezone.utc).replace(microsecond=0)) as frozen:
        yield frozen


def lift_after_notice(client, auth, page, clock, days: int = 14):
    """Lift a restriction as staff do: tell the person the date (GDPR art. 18(3)), then lift it on that date."""
    assert form_post(client, page, {}, action=f"{page}/announce-lift").status_code == 302
    clock.tick(timedelta(days=days))
    auth.login("support@example.com")  # a staff session does not outlive 12 hours
    assert form_post(client, page, {}, action=f"{page}/lift").status_code == 302


@pytest.fixture
def staff(make_account, client, auth):
    make_account("support@example.com", role=Role.SUPPORT, locale="en")


def file_and_verify(client, auth, session, kind):
    auth.login("camille@example.com")
    form_post(client, "/space/requests", {"kind": kind})
    auth.logout()
    session.rollback()
    request = session.scalars(select(DataRequest).order_by(DataRequest.id.desc())).first()
    auth.login("support@example.com")
    page = f"/admin/requests/{request.public_id}"
    assert form_post(client, page, IDENTITY_CHECK, action=f"{page}/verify").status_code == 302
    return request.public_id, page


def answers(session, subject_public_id):
    session.rollback()  # SQLite: the test's session must not hold the write lock
    with db.engine.connect() as connection:
        return {code: check_one(connection, code, channel_id(connection, code), subject=subject_public_id)
                for code in CHANNELS}


def statuses(session, public_id):
    session.rollback()
    subject = session.scalars(select(Subject).where(Subject.public_id == public_id)).one()
    found = {s.channel.code: (s.status, s.basis) for s in current_states(session, subject).values()}
    session.rollback()
    return found


def test_customers_get_403_and_visitors_go_to_login_on_the_queue(client, auth, customer):
    assert client.get("/admin/requests/").status_code == 302
    auth.login("camille@example.com")
    assert client.get("/admin/requests/").status_code == 403


def test_nothing_is_carried_out_before_the_identity_is_checked(client, auth, session, person, staff):
    auth.login("camille@example.com")
    form_post(client, "/space/requests", {"kind": "restriction"})
    auth.logout()
    session.rollback()
    request = session.scalars(select(DataRequest)).one()
    auth.login("support@example.com")
    page = f"/admin/requests/{request.public_id}"
    assert form_post(client, page, {}, action=f"{page}/carry-out").status_code == 409
    assert all(s == "granted" for s, _ in statuses(session, person).values())


def test_rule_restriction_stops_processing_until_lifted(
        client, auth, session, person, staff, clock):
    before = statuses(session, person)
    _, page = file_and_verify(client, auth, session, "restriction")
    assert form_post(client, page, {}, action=f"{page}/carry-out").status_code == 302
    assert {code: a["allowed"] for code, a in answers(session, person).items()} == dict.fromkeys(
        CHANNELS, False)
    assert {s for s, _ in statuses(session, person).values()} == {"restricted"}
    lift_after_notice(client, auth, page, clock)
    assert statuses(session, person) == before
    assert all(a["allowed"] for a in answers(session, person).values())
    lifted = session.scalars(select(ConsentEvent).where(ConsentEvent.event_type == "lifted")).all()
    assert {e.source for e in lifted} == {"restriction"} and len(lifted) == 4


def test_objection_withdraws_the_channels_held_on_legitimate_interest_or_soft_opt_in(
        client, auth, session, person, staff):
    _, page = file_and_verify(client, auth, session, "objection")
    assert form_post(client, page, {}, action=f"{page}/carry-out").status_code == 302
    after = statuses(session, person)
    assert {code: s for code, (s, _) in after.items()} == {
        "email": "withdrawn", "sms": "withdrawn", "post": "withdrawn", "newsletter": "granted"}
    session.rollback()
    request = session.scalars(select(DataRequest)).one()
    assert request.status == "completed" and "completed" in request.notes
    assert session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "request_completed")).one()


def test_rule_post_on_legitimate_interest_until_objection(client, auth, session, person, staff, make_key):
    """GDPR art. 6(1)(f), 21(2) and 21(3): post starts active on legitimate interest; once the person
    objects, it is no longer allowed. A consent is theirs to withdraw: the objection leaves it."""
    api = ApiClient(client, make_key())
    before = api.get(f"/check?channel=post&subject={person}").get_json()
    assert (before["allowed"], before["status"], before["basis"]) == (True, "granted", "legitimate_interest")
    _, page = file_and_verify(client, auth, session, "objection")
    assert form_post(client, page, {}, action=f"{page}/carry-out").status_code == 302
    after = api.get(f"/check?channel=post&subject={person}").get_json()
    assert (after["allowed"], after["status"], after["basis"]) == (False, "withdrawn", "legitimate_interest")
    assert api.get(f"/check?channel=newsletter&subject={person}").get_json()["allowed"] is True


def _database_text(session) -> str:
    """Every value of every row of every table, as one text."""
    session.rollback()
    chunks = []
    for table in inspect(db.engine).get_table_names():
        for row in session.execute(text(f'SELECT * FROM "{table}"')):
            chunks.append(" ".join(str(v) for v in row))
    return "\n".join(chunks)


def test_erasure_leaves_no_personal_field_readable_and_the_proof_still_verifies(
        app, client, auth, session, person, staff, runner, tmp_path):
    public_id = person
    assert all(v in _database_text(session) for v in PERSONAL.values())
    _, page = file_and_verify(client, auth, session, "erasure")
    assert form_post(client, page, {}, action=f"{page}/carry-out").status_code == 302

    leftover = _database_text(session)
    for field, value in PERSONAL.items():
        assert value not in leftover, field
    subject = session.scalars(select(Subject).where(Subject.public_id == public_id)).one()
    assert subject.erased_at is not None and subject.email is None
    subject_id = subject.id
    assert session.scalars(select(Account).where(Account.email == PERSONAL["email"])).first() is None
    erasures = session.scalars(select(ConsentEvent).where(ConsentEvent.source == "erasure")).all()
    assert sorted(e.channel.code for e in erasures) == sorted(CHANNELS)
    assert {e.status for e in erasures} == {"withdrawn"}
    assert not any(a["allowed"] for a in answers(session, public_id).values())

    assert verify_chains(session).ok
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0
    keys = dict(key_ring().public)
    for receipt in session.scalars(select(Receipt).where(Receipt.subject_id == subject_id)):
        assert verify_receipt(receipt.jws, keys)


def test_rule_erasure_keeps_a_fingerprint_that_stops_a_return(
        client, auth, session, person, staff, runner, tmp_path):
    _, page = file_and_verify(client, auth, session, "erasure")
    form_post(client, page, {}, action=f"{page}/carry-out")
    path = tmp_path / "contacts.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["external_ref", "email", "name"])
        writer.writerow(["CRM-1", "Camille@Example.com", "Camille Martin"])
    result = runner.invoke(args=["import", "contacts", str(path)])
    assert "suppression list" in result.output
    session.rollback()
    assert session.scalars(select(Subject).where(Subject.email == PERSONAL["email"])).first() is None
    with pytest.raises(crm.SubjectConflict):
        crm.create_from_crm(session, {"email": "camille@example.com"}, actor=Actor.system())
    session.rollback()
    publish_policy(session, "2026-01", {"fr": "Politique", "en": "Policy"})
    session.commit()
    assert newsletter.sign_up(session, email="camille@example.com", name=None, locale="fr",
                              policy_label="2026-01", trace={}) is None
    assert session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == PERSONAL["email"])).first() is None


def test_staff_extend_once_and_the_customer_reads_the_reason_and_new_date(client, auth, session, person, staff):
    public_id, page = file_and_verify(client, auth, session, "access")
    assert "Access request" in client.get("/admin/requests/").get_data(as_text=True)
    reason = {"days": "30", "reason": "Your records span three systems."}
    assert form_post(client, page, reason, action=f"{page}/extend").status_code == 302
    assert form_post(client, page, reason, action=f"{page}/extend").status_code == 409
    assert form_post(client, page, {}, action=f"{page}/carry-out").status_code == 302
    auth.logout()
    auth.login("camille@example.com")
    mine = client.get(f"/space/requests/{public_id}").get_data(as_text=True)
    assert "Your records span three systems." in mine and "/space/data.json" in mine
    session.rollback()
    request = session.scalars(select(DataRequest)).one()
    assert (request.due_at - request.received_at).days == 60 and request.status == "completed"
