"""Second hostile review of the restriction lift (rights/lifting.py, GDPR art. 18(3)): what the person may do
in the notice period (object, be erased), a notice that never reaches them, the desk of a request already
lifted, and retention while a lift is announced."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from freezegun import freeze_time
from sqlalchemy import select

from consent_center.models import DataRequest, Subject
from consent_center.rights.retention import due_subjects
from consent_center.subjects.deliverability import record_bounce

from .conftest import form_post
from .test_subject_rights import file_and_verify, person, staff, statuses  # noqa: F401

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)


def _carried_out(client, auth, session, kind="restriction"):
    public_id, page = file_and_verify(client, auth, session, kind)
    assert form_post(client, page, {}, action=f"{page}/carry-out").status_code == 302
    return public_id, page


def _announced(client, auth, session):
    public_id, page = _carried_out(client, auth, session)
    assert form_post(client, page, {}, action=f"{page}/announce-lift").status_code == 302
    auth.logout()
    return public_id, page


def test_an_objection_carried_out_in_the_notice_period_survives_the_lift(client, auth, session, person, staff,
                                                                        runner):
    """The notice is there so the person can object before processing resumes (lifting.py's own docstring).
    They do: their objection is carried out while restricted. On the date, the channels held on legitimate
    interest / soft opt-in must not come back ``granted`` as if they never objected (art. 21(3))."""
    with freeze_time(T0) as clock:
        _announced(client, auth, session)
        clock.move_to(T0 + timedelta(days=3))
        _carried_out(client, auth, session, "objection")
        auth.logout()
        clock.move_to(T0 + timedelta(days=14, hours=1))
        assert "lifted 1 restrictions" in runner.invoke(args=["consent", "expire"]).output
        after = {code: s for code, (s, _) in statuses(session, person).items()}
        assert after == {"email": "withdrawn", "sms": "withdrawn", "post": "withdrawn", "newsletter": "granted"}, \
            f"the objection was lost in the lift: {after}"


def test_a_lift_notice_that_bounces_before_the_date_does_not_lift_unattended(client, auth, session, person,
                                                                             staff, runner):
    """The notice is queued to a deliverable address, then bounces hard (the address dies, or the notice itself
    comes back). Nobody was told, yet on the date the daily job lifts the restriction (art. 18(3)); the desk
    still reads as if the person was told by e-mail."""
    with freeze_time(T0) as clock:
        _, page = _announced(client, auth, session)
        session.rollback()
        clock.move_to(T0 + timedelta(days=1))
        record_bounce(session, "camille@example.com", hard=True, at=T0 + timedelta(days=1),
                      detail="550 5.1.1 unknown", provider="postmark")
        session.commit()
        clock.move_to(T0 + timedelta(days=14, hours=1))
        auth.login("support@example.com")
        desk = client.get(page).get_data(as_text=True)
        auth.logout()
        result = runner.invoke(args=["consent", "expire"])
        assert {s for s, _ in statuses(session, person).values()} == {"restricted"}, \
            "lifted on the strength of a notice that bounced"
        assert "tell the person by post or phone" in desk, "the desk says nothing of the bounced notice"
        assert result.exit_code == 0


def test_a_person_without_an_address_is_not_lifted_by_the_job_unless_staff_say_they_told_them(
        client, auth, session, person, staff, runner):
    """No e-mail address: the desk asks staff to tell the person by post or phone, but nothing records that
    they did, and on the date ``consent expire`` lifts the restriction anyway."""
    with freeze_time(T0) as clock:
        session.rollback()
        session.scalars(select(Subject).where(Subject.public_id == person)).one().email = None
        session.commit()
        _announced(client, auth, session)
        clock.move_to(T0 + timedelta(days=14, hours=1))
        runner.invoke(args=["consent", "expire"])
        assert {s for s, _ in statuses(session, person).values()} == {"restricted"}, \
            "the job lifted a restriction nobody is recorded to have told the person about"


def test_the_desk_of_a_lifted_request_offers_no_lift_of_a_later_restriction(client, auth, session, person,
                                                                           staff, runner):
    """Request A was announced and lifted; the person later asks again (request C, in force, not announced).
    A's page must neither show A's old date as the lift of the restriction in force nor offer a "Lift" that
    would be refused; and it must not offer to announce a lift either (A is over)."""
    with freeze_time(T0) as clock:
        _, first = _announced(client, auth, session)
        clock.move_to(T0 + timedelta(days=14, hours=1))
        assert "lifted 1 restrictions" in runner.invoke(args=["consent", "expire"]).output
        clock.move_to(T0 + timedelta(days=20))
        _carried_out(client, auth, session)
        assert {s for s, _ in statuses(session, person).values()} == {"restricted"}
        desk = client.get(first).get_data(as_text=True)
        offered = [a for a in (f'{first}/lift"', f"{first}/announce-lift") if a in desk]
        assert ("restriction-lift" not in desk, offered) == (True, []), \
            "A's old lift date shown for the restriction now in force, or a lift A would refuse offered"
        assert form_post(client, first, {}, action=f"{first}/lift").status_code == 409  # refused indeed


def test_space_of_a_lifted_request_and_the_restricted_space_show_no_stale_date(client, auth, session, person,
                                                                              staff, runner):
    """Held: once lifted, and after a new restriction voids nothing of it, the space shows no lift date."""
    with freeze_time(T0) as clock:
        first_id, _ = _announced(client, auth, session)
        clock.move_to(T0 + timedelta(days=14, hours=1))
        runner.invoke(args=["consent", "expire"])
        clock.move_to(T0 + timedelta(days=20))
        second_id, _ = _carried_out(client, auth, session)
        auth.logout()
        auth.login("camille@example.com")
        for public_id in (first_id, second_id):
            page = client.get(f"/space/requests/{public_id}").get_data(as_text=True)
            assert "We will lift this restriction" not in page, public_id


def test_a_voided_announcement_leaves_no_date_in_the_space(client, auth, session, person, staff):
    """Held: a restriction asked again voids the first announcement; the space no longer shows its date."""
    with freeze_time(T0) as clock:
        first_id, _ = _announced(client, auth, session)
        clock.move_to(T0 + timedelta(days=1))
        _carried_out(client, auth, session)
        auth.logout()
        auth.login("camille@example.com")
        assert "We will lift this restriction" not in client.get(f"/space/requests/{first_id}").get_data(
            as_text=True)


def test_retention_holds_a_person_whose_lift_is_announced_but_not_done(client, auth, session, person, staff):
    """Held: announced is still restricted; retention holds the person until the lift."""
    with freeze_time(T0) as clock:
        _announced(client, auth, session)
        clock.move_to(T0 + timedelta(days=13))
        session.rollback()
        subject_id = session.scalars(select(Subject.id).where(Subject.public_id == person)).one()
        due = {d.clock.subject_id: d.action for d in due_subjects(session, T0 + timedelta(days=365 * 30))}
        assert due.get(subject_id) == "hold", due
        session.rollback()
        assert session.scalars(select(DataRequest.lift_at)).first() is not None
