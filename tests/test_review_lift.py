"""Hostile review of the restriction lift (rights/lifting.py, GDPR art. 18(3)): the person is told before
the lift, and nothing lifts the restriction before the date they were told."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from freezegun import freeze_time
from sqlalchemy import select

from consent_center.models import DataRequest, OutboxMessage, Role, Subject
from consent_center.subjects.deliverability import record_bounce

from .conftest import csrf_from, form_post
from .test_subject_rights import file_and_verify, person, staff, statuses  # noqa: F401

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)


def _carried_out(client, auth, session, kind="restriction"):
    public_id, page = file_and_verify(client, auth, session, kind)
    assert form_post(client, page, {}, action=f"{page}/carry-out").status_code == 302
    return public_id, page


def _kinds(session, person_id):
    return {s for s, _ in statuses(session, person_id).values()}


def test_a_restriction_carried_out_after_a_lift_was_announced_is_not_lifted_on_the_old_date(
        client, auth, session, person, staff, runner):
    """The person is told on T0 the restriction ends on T0+14; on T0+1 they ask for it again (a new
    restriction request, carried out). On T0+14 the old announcement must not end the new restriction:
    nobody told them that restriction would be lifted (art. 18(3))."""
    with freeze_time(T0) as clock:
        _, first = _carried_out(client, auth, session)
        assert form_post(client, first, {}, action=f"{first}/announce-lift").status_code == 302
        auth.logout()
        clock.move_to(T0 + timedelta(days=1))
        second_id, second = _carried_out(client, auth, session)
        assert _kinds(session, person) == {"restricted"}
        session.rollback()
        assert session.scalars(select(DataRequest).where(DataRequest.public_id == second_id)).one().lift_at is None

        clock.move_to(T0 + timedelta(days=14, hours=1))
        result = runner.invoke(args=["consent", "expire"])
        assert result.exit_code == 0, result.output
        assert _kinds(session, person) == {"restricted"}, "the new restriction was lifted without telling the person"


def test_a_restriction_carried_out_after_a_lift_was_announced_is_not_lifted_by_staff_on_the_old_date(
        client, auth, session, person, staff):
    """The same through the desk: on the old date the first request's "lift" ends the second restriction."""
    with freeze_time(T0) as clock:
        _, first = _carried_out(client, auth, session)
        assert form_post(client, first, {}, action=f"{first}/announce-lift").status_code == 302
        auth.logout()
        clock.move_to(T0 + timedelta(days=1))
        _carried_out(client, auth, session)
        clock.move_to(T0 + timedelta(days=14, hours=1))
        auth.login("support@example.com")
        form_post(client, first, {}, action=f"{first}/lift")
        assert _kinds(session, person) == {"restricted"}, "the new restriction was lifted without telling the person"


def test_a_stale_announcement_of_a_second_request_lifts_a_later_restriction(client, auth, session, person, staff,
                                                                           runner):
    """Two restriction requests. The first's lift is announced (T0 → T0+14), then the second is carried out:
    the person asked again, so the first announcement no longer holds (told again before any lift). The
    second is announced (T0+5 → T0+19) and lifts the restriction; both requests end. The person asks for a
    restriction again (T0+20): no old announcement may lift it."""
    with freeze_time(T0) as clock:
        _, first = _carried_out(client, auth, session)
        assert form_post(client, first, {}, action=f"{first}/announce-lift").status_code == 302
        auth.logout()
        _, second = _carried_out(client, auth, session)
        session.rollback()
        voided = session.scalars(select(DataRequest).order_by(DataRequest.id)).all()[0]
        assert (voided.lift_told_at, voided.lift_at) == (None, None) and "withdrawn" in voided.notes
        clock.move_to(T0 + timedelta(days=5))
        auth.login("support@example.com")  # a staff session lives 12 hours at most
        assert form_post(client, second, {}, action=f"{second}/announce-lift").status_code == 302
        auth.logout()
        clock.move_to(T0 + timedelta(days=14, hours=1))
        assert "lifted 0 restrictions" in runner.invoke(args=["consent", "expire"]).output
        assert _kinds(session, person) == {"restricted"}
        clock.move_to(T0 + timedelta(days=19, hours=1))
        assert "lifted 1 restrictions" in runner.invoke(args=["consent", "expire"]).output
        assert "restricted" not in _kinds(session, person)
        session.rollback()
        assert [r.outcome for r in session.scalars(select(DataRequest).order_by(DataRequest.id))] == [
            "lifted", "lifted"]

        clock.move_to(T0 + timedelta(days=20))
        _carried_out(client, auth, session)
        assert _kinds(session, person) == {"restricted"}
        clock.move_to(T0 + timedelta(days=40))
        assert "lifted 0 restrictions" in runner.invoke(args=["consent", "expire"]).output
        assert _kinds(session, person) == {"restricted"}, "the third restriction was lifted on an old notice"


def test_a_lift_announced_to_an_undeliverable_address_is_not_taken_as_told(client, auth, session, person, staff):
    """The mail providers gave up on the person's address: the notice queued to it never arrives. The desk
    must treat them as the person with no address (tell them by post or phone), not log 'told by e-mail'."""
    with freeze_time(T0):
        _, page = _carried_out(client, auth, session)
        session.rollback()
        record_bounce(session, "camille@example.com", hard=True, at=T0, detail="550 5.1.1 unknown",
                      provider="postmark")
        session.commit()
        assert form_post(client, page, {}, action=f"{page}/announce-lift").status_code == 302
        session.rollback()
        request = session.scalars(select(DataRequest).order_by(DataRequest.id.desc())).first()
        desk = client.get(page).get_data(as_text=True)
        assert "to be told another way" in (request.notes or "") or "tell the person by post or phone" in desk, \
            "the desk counts an undeliverable address as the person told"


def test_only_staff_with_a_csrf_token_announce_or_lift(client, auth, session, person, staff, make_account):
    """Guards that hold (no hole found): a customer, an auditor, or a post without the CSRF token."""
    with freeze_time(T0):
        public_id, page = _carried_out(client, auth, session)
        auth.logout()
        make_account("auditor@example.com", role=Role.AUDITOR, locale="en")
        for email in ("camille@example.com", "auditor@example.com"):
            auth.login(email)
            token = csrf_from(client.get("/space/preferences" if email.startswith("camille")
                                         else "/admin/", follow_redirects=True).get_data(as_text=True))
            for action in ("announce-lift", "lift"):
                response = client.post(f"{page}/{action}", data={"csrf_token": token})
                assert response.status_code == 403, (email, action, response.status_code)
            auth.logout()
        auth.login("support@example.com")
        assert client.post(f"{page}/announce-lift", data={}).status_code == 400
        session.rollback()
        assert session.scalars(select(DataRequest).where(DataRequest.public_id == public_id)).one().lift_at is None
        # Another customer cannot read the request's page in their space.
        auth.logout()
        make_account("other@example.com", locale="en")
        auth.login("other@example.com")
        assert client.get(f"/space/requests/{public_id}").status_code == 404
        assert session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "restriction_lift")).all() == []


def test_the_lift_comes_exactly_at_the_announced_moment_and_not_a_second_sooner(client, auth, session, person,
                                                                                staff, runner):
    with freeze_time(T0) as clock:
        _, page = _carried_out(client, auth, session)
        assert form_post(client, page, {}, action=f"{page}/announce-lift").status_code == 302
        auth.logout()
        clock.move_to(T0 + timedelta(days=14) - timedelta(microseconds=1))
        assert "lifted 0 restrictions" in runner.invoke(args=["consent", "expire"]).output
        assert _kinds(session, person) == {"restricted"}
        clock.move_to(T0 + timedelta(days=14))
        assert "lifted 1 restrictions" in runner.invoke(args=["consent", "expire"]).output
        session.rollback()
        assert session.scalars(select(Subject).where(Subject.public_id == person)).one().restricted_at is None
