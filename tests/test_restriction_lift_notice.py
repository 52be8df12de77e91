"""A restriction is lifted only after the person is told (GDPR art. 18(3)): staff announce the date on the
desk, the person is e-mailed it in their language and reads it in their space, nothing is lifted before
it, and from it staff or the daily ``consent expire`` lift it, once."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from freezegun import freeze_time
from sqlalchemy import select

from consent_center.models import DataRequest, OutboxMessage, StaffAction, Subject
from consent_center.outbox.mail import compose

from .conftest import form_post
from .test_subject_rights import file_and_verify, person, staff, statuses  # noqa: F401

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)


def _restricted(client, auth, session):
    _, page = file_and_verify(client, auth, session, "restriction")
    assert form_post(client, page, {}, action=f"{page}/carry-out").status_code == 302
    return page


def _request(session) -> DataRequest:
    session.rollback()
    return session.scalars(select(DataRequest).order_by(DataRequest.id.desc())).first()


def _lift_mails(session) -> list[OutboxMessage]:
    session.rollback()
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "restriction_lift")))


def test_the_person_is_told_before_the_lift_and_nothing_is_lifted_sooner(client, auth, session, person, staff,
                                                                         runner):
    with freeze_time(T0) as clock:
        before = statuses(session, person)
        page = _restricted(client, auth, session)
        # Not lifted without telling the person first.
        refused = form_post(client, page, {}, action=f"{page}/lift")
        assert refused.status_code == 409 and "tell the person first" in refused.get_data(as_text=True)
        assert {s for s, _ in statuses(session, person).values()} == {"restricted"}
        desk = client.get(page).get_data(as_text=True)
        assert f"{page}/announce-lift" in desk and f"{page}/lift\"" not in desk

        assert form_post(client, page, {}, action=f"{page}/announce-lift").status_code == 302
        request = _request(session)
        public_id = request.public_id
        assert (request.lift_told_at, request.lift_at) == (T0, T0 + timedelta(days=14))
        [mail] = _lift_mails(session)
        assert (mail.recipient, mail.payload["lift_at"]) == ("camille@example.com", request.lift_at.isoformat())
        text = compose(mail).get_body(("plain",)).get_content()
        assert "We will lift this restriction on Dec 21, 2026" in text and public_id in text
        desk = client.get(page).get_data(as_text=True)
        assert "restriction-lift" in desk and f"{page}/announce-lift" not in desk
        # Told once: a second announcement is refused, no second e-mail.
        again = form_post(client, page, {}, action=f"{page}/announce-lift")
        assert again.status_code == 409 and "already told" in again.get_data(as_text=True)
        assert len(_lift_mails(session)) == 1

        # The person reads the date in their space.
        auth.logout()
        auth.login("camille@example.com")
        space = client.get(f"/space/requests/{public_id}").get_data(as_text=True)
        assert "We will lift this restriction on" in space
        auth.logout()

        # A day before the date: neither staff nor the daily job lifts it.
        clock.move_to(T0 + timedelta(days=13))
        auth.login("support@example.com")
        early = form_post(client, page, {}, action=f"{page}/lift")
        assert early.status_code == 409 and "not before" in early.get_data(as_text=True)
        assert "lifted 0 restrictions" in runner.invoke(args=["consent", "expire"]).output
        assert {s for s, _ in statuses(session, person).values()} == {"restricted"}

        # On the date, the daily job lifts it, once; each channel gets back what it had.
        clock.move_to(T0 + timedelta(days=14, hours=18))
        assert "lifted 1 restrictions" in runner.invoke(args=["consent", "expire"]).output
        assert statuses(session, person) == before
        assert "lifted 0 restrictions" in runner.invoke(args=["consent", "expire"]).output
        assert _request(session).outcome == "lifted"
        auth.login("support@example.com")  # a staff session lives 12 hours at most
        lifted = form_post(client, page, {}, action=f"{page}/lift")
        assert lifted.status_code == 409 and "already lifted" in lifted.get_data(as_text=True)
        session.rollback()
        actions = list(session.scalars(select(StaffAction.action).where(
            StaffAction.target == f"request:{public_id}").order_by(StaffAction.id)))
        assert actions[-1] == "request.restriction_lift_announced"


def _announced_without_an_address(client, auth, session, person) -> str:
    """A carried-out restriction of a person with no e-mail address, its lift announced; its page."""
    page = _restricted(client, auth, session)
    session.rollback()
    session.scalars(select(Subject).where(Subject.public_id == person)).one().email = None
    session.commit()
    assert form_post(client, page, {}, action=f"{page}/announce-lift").status_code == 302
    return page


def test_a_person_without_an_e_mail_address_is_told_by_staff_and_the_desk_says_so(client, auth, session, person,
                                                                                  staff, runner):
    with freeze_time(T0) as clock:
        page = _announced_without_an_address(client, auth, session, person)
        assert _lift_mails(session) == []
        assert "to be told another way" in _request(session).notes
        assert "No deliverable e-mail address: tell the person by post or phone" in client.get(page).get_data(as_text=True)
        # On the date the daily job leaves it to staff, who say how they told the person.
        clock.move_to(T0 + timedelta(days=15))
        assert "lifted 0 restrictions" in runner.invoke(args=["consent", "expire"]).output
        auth.login("support@example.com")
        assert 'name="told"' in client.get(page).get_data(as_text=True)
        unsaid = form_post(client, page, {"told": "  "}, action=f"{page}/lift")
        assert unsaid.status_code == 409 and "say how they were told" in unsaid.get_data(as_text=True)
        assert {s for s, _ in statuses(session, person).values()} == {"restricted"}
        told = "Letter of 8 December, ticket 5531"
        assert form_post(client, page, {"told": told}, action=f"{page}/lift").status_code == 302
        assert {s for s, _ in statuses(session, person).values()} != {"restricted"}
        assert f"the person was told: {told}" in _request(session).notes
        session.rollback()
        line = session.scalars(select(StaffAction).order_by(StaffAction.id.desc())).first()
        assert (line.action, line.details.get("told")) == ("request.restriction_lifted", told)


def test_a_request_that_is_no_restriction_in_force_has_no_lift_to_announce(client, auth, session, person, staff):
    _, page = file_and_verify(client, auth, session, "access")
    refused = form_post(client, page, {}, action=f"{page}/announce-lift")
    assert refused.status_code == 409 and "only a carried-out restriction" in refused.get_data(as_text=True)
    assert _lift_mails(session) == [] and _request(session).lift_told_at is None


def test_a_restricted_person_erased_before_the_date_has_nothing_lifted_and_the_job_goes_on(
        client, auth, session, person, staff, runner):
    with freeze_time(T0) as clock:
        page = _restricted(client, auth, session)
        assert form_post(client, page, {}, action=f"{page}/announce-lift").status_code == 302
        auth.logout()
        _, erasure = file_and_verify(client, auth, session, "erasure")
        assert form_post(client, erasure, {}, action=f"{erasure}/carry-out").status_code == 302
        clock.move_to(T0 + timedelta(days=15))
        expired = runner.invoke(args=["consent", "expire"])
        assert expired.exit_code == 0 and "lifted 0 restrictions" in expired.output, expired.output
        auth.login("support@example.com")
        assert f"{page}/lift" not in client.get(page).get_data(as_text=True)
        refused = form_post(client, page, {}, action=f"{page}/lift")
        assert refused.status_code == 409 and "erased" in refused.get_data(as_text=True)
        assert {s for s, _ in statuses(session, person).values()} == {"withdrawn"}


def test_a_lift_with_a_bad_account_of_how_the_person_was_told_keeps_the_form_and_writes_nothing(
        client, auth, session, person, staff):
    """Invariant 8 on the lift's one field: too long is a 409 page with the text kept, and nothing lifted."""
    with freeze_time(T0) as clock:
        page = _announced_without_an_address(client, auth, session, person)
        clock.move_to(T0 + timedelta(days=15))
        auth.login("support@example.com")
        told = "Called on the number on file " + "x" * 200
        refused = form_post(client, page, {"told": told}, action=f"{page}/lift")
        assert refused.status_code == 409
        body = refused.get_data(as_text=True)
        assert "say how they were told" in body and f'value="{told}"' in body
        assert {s for s, _ in statuses(session, person).values()} == {"restricted"}
        assert _request(session).outcome != "lifted"
