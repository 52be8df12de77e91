"""Erased subjects stay erased (issue 21, item 2).

An erased subject refuses every change (409 ``erased``); the suppression list
is checked on PATCH as on POST and holds phone numbers (E.164) as well as
e-mail addresses; a check on a suppressed identifier answers no and says why.
"""
import io
import re

import pytest
from sqlalchemy import func, select

from consent_center.clock import utcnow
from consent_center.ledger import Actor, ErasedSubject, record_change
from consent_center.ledger.bulk import Submission, record_many
from consent_center.models import ConsentEvent, OutboxMessage, Source, Subject
from consent_center.outbox.mail import compose
from consent_center.rights.effects import erase
from consent_center.subjects.importer import import_contacts

from . import test_subject_rights
from .api_fixtures import ApiClient, assert_problem
from .conftest import csrf_from, form_post
from .test_subject_rights import PERSONAL, answers, file_and_verify

# The fixtures of test_subject_rights: a customer with every personal field, and a support account.
person, staff = test_subject_rights.person, test_subject_rights.staff


def erased(client, auth, session):
    """Erase the person through the desk."""
    _, page = file_and_verify(client, auth, session, "erasure")
    assert form_post(client, page, {}, action=f"{page}/carry-out").status_code == 302
    session.rollback()


def event_count(session) -> int:
    session.rollback()
    count = session.scalar(select(func.count()).select_from(ConsentEvent))
    session.rollback()
    return count


def subject_of(session, public_id) -> Subject:
    session.rollback()
    return session.scalars(select(Subject).where(Subject.public_id == public_id)).one()


def test_patch_of_an_erased_subject_is_409_and_brings_nothing_back(
        client, auth, session, person, staff, make_key):
    erased(client, auth, session)
    api = ApiClient(client, make_key())
    response = api.patch(f"/subjects/{person}", json={
        "email": PERSONAL["email"], "name": PERSONAL["name"], "phone": PERSONAL["phone"]})
    body = assert_problem(response, 409, "erased")
    assert person in body["detail"]
    subject = subject_of(session, person)
    assert subject.email is None and subject.name is None and subject.phone is None
    # A harmless-looking change is refused as well: an erased subject takes none.
    assert_problem(api.patch(f"/subjects/{person}", json={"locale": "nl"}), 409, "erased")
    assert subject_of(session, person).locale != "nl"


def test_a_consent_write_on_an_erased_subject_is_409_and_the_check_still_says_no(
        client, auth, session, person, staff, make_key):
    erased(client, auth, session)
    api = ApiClient(client, make_key())
    events = event_count(session)
    api.patch(f"/subjects/{person}", json={"email": PERSONAL["email"]})
    response = api.post(f"/subjects/{person}/consents", json={"channel": "email", "status": "granted",
                                                               "source": "api"})
    assert_problem(response, 409, "erased")
    assert event_count(session) == events
    assert not any(a["allowed"] for a in answers(session, person).values())
    assert api.get(f"/check?channel=email&subject={person}").get_json()["allowed"] is False
    # A withdrawal it already has changes nothing and is answered as before.
    response = api.post(f"/subjects/{person}/consents", json={"channel": "email", "status": "withdrawn",
                                                               "source": "api"})
    assert response.status_code == 200 and response.get_json()["changed"] is False


def test_staff_cannot_switch_a_channel_on_for_an_erased_subject(client, auth, session, person, staff):
    erased(client, auth, session)
    events = event_count(session)
    response = form_post(client, f"/admin/people/{person}", {"active": ["email"], "method": "phone",
                                                             "evidence": "phone call, ticket 4411"})
    assert response.status_code == 409
    assert "erased" in response.get_data(as_text=True)
    assert event_count(session) == events


def test_the_ledger_refuses_an_erased_subject_on_the_single_and_the_bulk_path(
        client, auth, session, person, staff):
    erased(client, auth, session)
    subject = subject_of(session, person)
    with pytest.raises(ErasedSubject):
        record_change(session, subject, {"email": "granted"}, source=Source.IMPORT, actor=Actor.system())
    session.rollback()
    subject = subject_of(session, person)
    with pytest.raises(ErasedSubject):
        record_many(session, [Submission(subject, {"sms": "granted"}, Source.IMPORT, Actor.system())])
    session.rollback()
    # Erasing again (the rights flow) is still possible: it only withdraws.
    erase(session, subject_of(session, person), actor=Actor.system())
    session.commit()


def test_patch_to_an_erased_address_in_another_spelling_is_refused_as_post_is(
        client, auth, session, person, staff, make_key, make_subject):
    erased(client, auth, session)
    lea = make_subject("lea@example.com").public_id
    api = ApiClient(client, make_key())
    for spelling in ("Camille@Example.COM", " camille@example.com "):
        body = assert_problem(api.patch(f"/subjects/{lea}", json={"email": spelling}), 409, "conflict")
        assert "suppression list" in body["detail"] and body["errors"][0]["pointer"] == "/email"
        body = assert_problem(api.post("/subjects", json={"email": spelling}), 409, "conflict")
        assert "suppression list" in body["detail"]
    assert subject_of(session, lea).email == "lea@example.com"
    # PATCH then POST consents: nothing came back to write on.
    response = api.post(f"/subjects/{lea}/consents", json={"channel": "email", "status": "granted",
                                                                     "source": "api"})
    assert response.status_code == 201
    check = api.get("/check?channel=email&email=camille@example.com").get_json()
    assert check["allowed"] is False and check["status"] == "suppressed"


def test_a_unicode_address_erased_is_refused_in_its_decomposed_and_upper_case_spelling(
        client, session, make_key, make_subject):
    zoe = make_subject("zo\u00e9@example.com")
    erase(session, subject_of(session, zoe.public_id), actor=Actor.system())
    session.commit()
    lea = make_subject("lea@example.com").public_id
    api = ApiClient(client, make_key())
    decomposed = "ZOE\u0301@Example.com"
    assert_problem(api.patch(f"/subjects/{lea}", json={"email": decomposed}), 409, "conflict")
    assert_problem(api.post("/subjects", json={"email": decomposed}), 409, "conflict")
    check = api.get("/check", query_string={"channel": "email", "email": decomposed}).get_json()
    assert check["allowed"] is False and check["status"] == "suppressed"


def test_an_erased_phone_number_is_refused_in_national_format_on_patch_and_post(
        client, auth, session, person, staff, make_key, make_subject):
    erased(client, auth, session)
    lea = make_subject("lea@example.com", locale="fr").public_id
    api = ApiClient(client, make_key())
    for spelling, country in (("06 12 34 56 78", "FR"), ("+33 6 12 34 56 78", None), ("0033612345678", "FR")):
        extra = {"country": country} if country else {}
        body = assert_problem(api.patch(f"/subjects/{lea}", json={"phone": spelling, **extra}),
                              409, "conflict")
        assert "suppression list" in body["detail"] and body["errors"][0]["pointer"] == "/phone"
        body = assert_problem(api.post("/subjects", json={"phone": spelling, "locale": "fr", **extra}),
                              409, "conflict")
        assert body["errors"][0]["pointer"] == "/phone"
    assert subject_of(session, lea).phone is None
    # Another number is fine.
    response = api.patch(f"/subjects/{lea}", json={"phone": "06 12 34 56 79"})
    assert response.status_code == 200 and response.get_json()["phone"] == "+33612345679"


def test_retention_erasure_keeps_the_number_off_the_list_as_it_keeps_the_address(
        client, session, make_key, make_subject):
    old = make_subject("old@example.com", phone="+33612345670")
    erase(session, subject_of(session, old.public_id), actor=Actor.system(), reason="retention",
          suppress_address=False)
    session.commit()
    api = ApiClient(client, make_key())
    assert api.post("/subjects", json={"email": "old@example.com", "phone": "+33612345670"}).status_code == 201


def test_a_bulk_check_says_suppressed_for_an_erased_address_among_others_in_input_order(
        client, auth, session, person, staff, make_key, make_subject):
    erased(client, auth, session)
    lea = make_subject("lea@example.com").public_id
    api = ApiClient(client, make_key())
    asked = ["lea@example.com", "CAMILLE@example.com", "nobody@example.com", "camille@example.com",
             "not an address", "lea@example.com"]
    response = api.post("/check", json={"channel": "email", "emails": asked})
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == [
        results[0]["status"], "suppressed", "unknown", "suppressed", "unknown", results[0]["status"]]
    assert results[0]["status"] not in ("suppressed", "unknown") and results[0]["subject"] == lea
    assert [r.get("email") for r in results[1:4]] == ["camille@example.com", "nobody@example.com",
                                                       "camille@example.com"]
    assert all(r["allowed"] is False and r["subject"] is None for r in results[1:5])
    single = api.get("/check?channel=email&email=Camille@Example.com").get_json()
    assert single == results[1]
    allowed = api.post("/check", json={"channel": "email", "emails": asked, "answer": "allowed"}).get_json()
    assert allowed["allowed"] == [r["allowed"] for r in results]


def test_a_suppressed_address_is_allowed_by_no_check_even_when_a_grant_follows(
        client, auth, session, person, staff, make_key):
    erased(client, auth, session)
    api = ApiClient(client, make_key())
    api.patch(f"/subjects/{person}", json={"email": PERSONAL["email"]})
    api.post(f"/subjects/{person}/consents", json={"channel": "email", "status": "granted", "source": "api"})
    for channel in ("email", "sms", "post", "newsletter"):
        answer = api.get(f"/check?channel={channel}&email={PERSONAL['email']}").get_json()
        assert answer["allowed"] is False and answer["status"] == "suppressed"


def test_an_import_row_with_an_erased_phone_number_is_not_imported(client, auth, session, person, staff):
    erased(client, auth, session)
    stream = io.StringIO("external_ref,phone,locale\nCRM-9,06 12 34 56 78,fr\nCRM-10,06 12 34 56 79,fr\n")
    report = import_contacts(session, stream, actor=Actor.system())
    session.commit()
    assert [line for line, _ in report.errors] == [2] and "suppression list" in report.errors[0][1]
    assert report.created == 1
    assert session.scalars(select(Subject).where(Subject.phone == PERSONAL["phone"])).first() is None


# --- the customer's own space (rectification) and the import of known contacts ---

LEA_PROFILE = {"name": "Léa Dubois", "email": "lea@example.com", "phone": "", "postal_address": "", "locale": "en"}


def logged_in_as_lea(client, auth, session, make_account):
    """Lea, a customer, logged in (the desk's support account logged out); her subject's public id."""
    lea = make_account("lea@example.com", locale="en").subject.public_id
    auth.logout()
    auth.login("lea@example.com")
    return lea


def test_the_customer_space_refuses_an_erased_phone_number_in_any_spelling_and_writes_nothing(
        client, auth, session, person, staff, make_account):
    erased(client, auth, session)
    lea = logged_in_as_lea(client, auth, session, make_account)
    for spelling in ("06 12 34 56 78", "+33 6 12 34 56 78", "0033612345678"):
        response = form_post(client, "/space/profile", {**LEA_PROFILE, "phone": spelling, "name": "Léa D."})
        assert response.status_code == 409
        page = response.get_data(as_text=True)
        # Said as the API says it to a CRM, and no more: no name, no date, no other field refused.
        assert "This phone number cannot be used" in page and "Camille" not in page
        assert page.count('role="alert"') == 1
    subject = subject_of(session, lea)
    assert subject.phone is None and subject.name != "Léa D."
    assert form_post(client, "/space/profile", {**LEA_PROFILE, "phone": "06 12 34 56 79"}).status_code == 302
    assert subject_of(session, lea).phone == "+33612345679"


def test_the_customer_space_keeps_a_number_the_customer_already_had_when_another_erasure_listed_it(
        client, auth, session, person, staff, make_account):
    lea = make_account("lea@example.com")
    lea.subject.phone = PERSONAL["phone"]  # the household's one number, Camille's too
    lea = lea.subject.public_id
    session.commit()
    erased(client, auth, session)
    auth.logout()
    auth.login("lea@example.com")
    response = form_post(client, "/space/profile", {**LEA_PROFILE, "phone": PERSONAL["phone"], "name": "Léa D."})
    assert response.status_code == 302
    subject = subject_of(session, lea)
    assert (subject.name, subject.phone) == ("Léa D.", PERSONAL["phone"])


def change_links(session) -> dict[str, str]:
    """The e-mail change links sent so far, by the address they were sent to."""
    session.rollback()
    messages = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "email_change")).all()
    return {m.recipient: re.search(r"http://localhost(/space/email/confirm/\S+)",
                                   compose(m).get_body(("plain",)).get_content()).group(1) for m in messages}


def test_the_customer_space_sends_no_link_to_an_erased_address_and_says_what_it_says_for_a_taken_one(
        client, auth, session, person, staff, make_account, make_subject):
    erased(client, auth, session)
    make_subject("taken@example.com")
    logged_in_as_lea(client, auth, session, make_account)
    pages = [form_post(client, "/space/profile", {**LEA_PROFILE, "email": email}, follow_redirects=True)
             for email in ("Camille@Example.COM", "taken@example.com", "Camille@Example.COM")]
    assert [p.status_code for p in pages] == [200, 200, 200]
    flashes = [re.findall(r'class="flash flash-(\w+)">([^<]*)', p.get_data(as_text=True)) for p in pages]
    # "open the link we sent to the new address", as for any address: nothing tells it apart.
    assert flashes[0] == flashes[1] == flashes[2]
    assert flashes[0][1] == ("info", "To change your e-mail address, open the link we sent to the new address.")
    assert "Camille" not in pages[0].get_data(as_text=True)
    assert change_links(session) == {}  # nothing is sent to the erased address
    assert session.scalars(select(Subject).where(Subject.email == "camille@example.com")).first() is None


def test_a_change_link_to_an_address_erased_since_it_was_sent_is_dead_as_a_used_one(
        client, auth, session, make_account, make_subject):
    make_account("lea@example.com")
    auth.login("lea@example.com")
    form_post(client, "/space/profile", {**LEA_PROFILE, "email": "zoe@example.com"})
    link = change_links(session)["zoe@example.com"]
    auth.logout()
    opened = client.get(link)  # the page, opened before the erasure and posted after
    assert opened.status_code == 200
    # Meanwhile a CRM adds zoe@example.com, and Zoé has her data erased: the address is on the list.
    zoe = make_subject("zoe@example.com").public_id
    erase(session, subject_of(session, zoe), actor=Actor.system())
    session.commit()
    assert client.get(link).status_code == 410
    response = client.post(link, data={"csrf_token": csrf_from(opened.get_data(as_text=True))})
    assert response.status_code == 410
    session.rollback()
    lea = session.scalars(select(Subject).where(Subject.email == "lea@example.com")).one()
    assert lea.email == "lea@example.com"


def test_an_import_row_giving_a_known_contact_an_erased_address_or_number_is_refused(
        client, auth, session, person, staff, make_subject):
    # Noa shares the household's number with Camille from before the erasure: hers to keep.
    for email, ref, phone in (("lea@example.com", "CRM-1", None), ("max@example.com", "CRM-2", None),
                              ("noa@example.com", "CRM-3", PERSONAL["phone"])):
        make_subject(email, external_ref=ref, phone=phone)
    erased(client, auth, session)
    events = event_count(session)
    collected = utcnow().isoformat()  # after the center's states: the rows' grants are the newer
    stream = io.StringIO("external_ref,email,phone,locale,consent_email,consent_sms,evidence,collected_at\n"
                         f"CRM-1,Camille@Example.com,,fr,granted,,shop form,{collected}\n"
                         f"CRM-2,max@example.com,06 12 34 56 78,fr,,granted,shop form,{collected}\n"
                         f"CRM-3,noa@example.com,06 12 34 56 78,fr,,granted,shop form,{collected}\n")
    report = import_contacts(session, stream, actor=Actor.system())
    session.commit()
    assert [line for line, _ in report.errors] == [2, 3]
    assert "e-mail address" in report.errors[0][1] and "suppression list" in report.errors[0][1]
    assert "phone number" in report.errors[1][1] and "suppression list" in report.errors[1][1]
    assert (report.created, report.changed) == (0, 1)
    assert event_count(session) == events + 1  # Noa's sms grant, and nothing for Lea or Max


def test_a_customer_account_cannot_bring_an_erased_address_back_through_staff(
        client, auth, session, person, staff, runner):
    erased(client, auth, session)
    result = runner.invoke(args=["user", "create", "--email", "Camille@Example.com", "--role", "customer"])
    assert result.exit_code != 0 and "suppression list" in result.output
    session.rollback()
    assert session.scalars(select(Subject).where(Subject.email == "camille@example.com")).first() is None
    # A staff login is no contact: the address may open one.
    result = runner.invoke(args=["user", "create", "--email", "camille@example.com", "--role", "auditor"])
    assert result.exit_code == 0, result.output
