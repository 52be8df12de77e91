"""A restriction (GDPR art. 18) holds: no API write, staff change or customer choice resumes
processing until the restriction is lifted through the rights request (issue 21, item 3)."""
import io
from datetime import datetime, timezone

from sqlalchemy import func, select

from consent_center.ledger import Actor
from consent_center.models import ConsentEvent, Subject
from consent_center.subjects.importer import import_contacts

from .api_fixtures import ApiClient, assert_problem
from .conftest import form_post
from .test_subject_rights import (  # noqa: F401
    answers,
    clock,
    file_and_verify,
    lift_after_notice,
    person,
    staff,
    statuses,
)

RESTRICTED_TEXT = "restricted"


def restricted(client, auth, session, person):
    """Restrict the person through the desk; return the request's desk page."""
    _, page = file_and_verify(client, auth, session, "restriction")
    assert form_post(client, page, {}, action=f"{page}/carry-out").status_code == 302
    assert {s for s, _ in statuses(session, person).values()} == {"restricted"}
    return page


def event_count(session) -> int:
    session.rollback()
    count = session.scalar(select(func.count()).select_from(ConsentEvent))
    session.rollback()
    return count


def test_an_api_grant_on_a_restricted_channel_is_409_and_nothing_is_written(
        client, auth, session, person, staff, make_key, clock):
    page = restricted(client, auth, session, person)
    api = ApiClient(client, make_key())
    before, events = statuses(session, person), event_count(session)
    response = api.post(f"/subjects/{person}/consents", json={"channel": "email", "status": "granted",
                                                               "source": "api"})
    body = assert_problem(response, 409, "restricted")
    assert "restricted" in body["detail"] and "email" in body["detail"]
    assert statuses(session, person) == before and event_count(session) == events
    assert answers(session, person)["email"]["allowed"] is False
    # Lifted through the request flow, the same write works.
    lift_after_notice(client, auth, page, clock)
    response = api.post(f"/subjects/{person}/consents", json={"channel": "email", "status": "granted",
                                                               "source": "api"})
    assert response.status_code in (200, 201)
    assert answers(session, person)["email"]["allowed"] is True


def test_a_withdrawal_while_restricted_is_recorded_and_stays_after_the_lift(
        client, auth, session, person, staff, make_key, clock):
    page = restricted(client, auth, session, person)
    api = ApiClient(client, make_key())
    response = api.post(f"/subjects/{person}/consents", json={"channel": "newsletter", "status": "withdrawn",
                                                               "source": "api"})
    assert response.status_code == 201
    # Another channel still restricted: the subject still is, a grant elsewhere is refused.
    assert_problem(api.post(f"/subjects/{person}/consents", json={"channel": "newsletter", "status": "granted",
                                                                   "source": "api"}), 409, "restricted")
    lift_after_notice(client, auth, page, clock)
    assert statuses(session, person)["newsletter"][0] == "withdrawn"


def test_a_staff_change_on_a_restricted_person_is_refused_with_the_form_kept(
        client, auth, session, person, staff, clock):
    page = restricted(client, auth, session, person)
    events = event_count(session)
    people = f"/admin/people/{person}"
    response = form_post(client, people, {"active": ["email", "sms"], "method": "phone",
                                          "evidence": "phone call, ticket 4411"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "restricted (GDPR art. 18)" in html and "ticket 4411" in html
    assert event_count(session) == events
    assert answers(session, person)["email"]["allowed"] is False
    lift_after_notice(client, auth, page, clock)
    response = form_post(client, people, {"active": ["email", "sms", "post", "newsletter"], "method": "phone",
                                          "evidence": "phone call, ticket 4411"})
    assert response.status_code == 302


def test_the_customer_cannot_switch_a_channel_on_in_their_space_while_restricted(
        client, auth, session, person, staff, clock):
    page = restricted(client, auth, session, person)
    auth.logout()
    auth.login("camille@example.com")
    events = event_count(session)
    response = form_post(client, "/space/preferences", {"active": ["email"]})
    assert response.status_code == 409
    assert "restricted at your request" in response.get_data(as_text=True)
    assert event_count(session) == events
    assert answers(session, person)["email"]["allowed"] is False
    auth.logout()
    auth.login("support@example.com")
    lift_after_notice(client, auth, page, clock)
    auth.logout()
    auth.login("camille@example.com")
    assert form_post(client, "/space/preferences", {"active": ["email"]}).status_code == 302
    assert answers(session, person)["email"]["allowed"] is True


def test_an_import_row_granting_a_restricted_channel_is_reported_as_an_error(
        client, auth, session, person, staff):
    restricted(client, auth, session, person)
    subject = session.scalars(select(Subject).where(Subject.public_id == person)).one()
    subject.external_ref = "CRM-1"
    session.commit()
    events = event_count(session)
    now = datetime.now(timezone.utc).isoformat()
    stream = io.StringIO("external_ref,email,consent_email,evidence,collected_at\n"
                         f"CRM-1,camille@example.com,granted,CRM export,{now}\n")
    report = import_contacts(session, stream, actor=Actor.system())
    session.commit()
    assert [line for line, _ in report.errors] == [2] and "restricted" in report.errors[0][1]
    assert event_count(session) == events


def test_withdrawing_every_restricted_channel_does_not_lift_the_restriction(
        client, auth, session, person, staff, make_key, clock):
    # The restriction is the person's, not their channels': once each channel is
    # withdrawn, none is "restricted", yet only the request flow may lift it.
    page = restricted(client, auth, session, person)
    api = ApiClient(client, make_key())
    for code in statuses(session, person):
        response = api.post(f"/subjects/{person}/consents", json={"channel": code, "status": "withdrawn",
                                                                   "source": "api"})
        assert response.status_code == 201
    assert {s for s, _ in statuses(session, person).values()} == {"withdrawn"}
    events = event_count(session)
    response = api.post(f"/subjects/{person}/consents", json={"channel": "email", "status": "granted",
                                                               "source": "api"})
    assert_problem(response, 409, "restricted")
    assert event_count(session) == events
    assert f"{page}/announce-lift" in client.get(page).get_data(as_text=True)  # the desk still offers the lift
    # Lifted through the request: every channel stays withdrawn, and a grant works again.
    lift_after_notice(client, auth, page, clock)
    assert {s for s, _ in statuses(session, person).values()} == {"withdrawn"}
    response = api.post(f"/subjects/{person}/consents", json={"channel": "email", "status": "granted",
                                                               "source": "api"})
    assert response.status_code == 201
