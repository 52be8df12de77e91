"""The retention rules per jurisdiction: asked once before the end, erased if silent, kept on a yes.

Each ``test_rule_…`` is cited by docs/rules.md as the proof of its rule.
"""
import re

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center import create_app
from consent_center.ledger import Actor, record_change
from consent_center.models import (ConsentEvent, OutboxMessage, RepermissionRequest, Source, Subject,
                                   SuppressedAddress)
from consent_center.outbox.mail import compose
from consent_center.rights.erasure import erase
from consent_center.rights.requests import RequestError, extend, file_request
from consent_center.subjects.service import create_subject

from .conftest import csrf_from

# The prospect period of each jurisdiction's preset, in years.
PROSPECT_YEARS = {"FR": 3, "BE": 3, "NL": 2}
ALL = pytest.mark.parametrize("app", [{"JURISDICTION": j} for j in PROSPECT_YEARS], indirect=True,
                              ids=list(PROSPECT_YEARS))
FR = pytest.mark.parametrize("app", [{"JURISDICTION": "FR"}], indirect=True, ids=["FR"])


def run(runner, *args):
    result = runner.invoke(args=["retention", "run", *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def questions_to(session, address):
    session.rollback()
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "repermission",
                                                            OutboxMessage.recipient == address)))


def subject_of(session, public_id):
    session.rollback()
    return session.scalars(select(Subject).where(Subject.public_id == public_id)).one()


def a_prospect(session, email="noor@example.com", locale="nl", when="2020-03-01 09:00:00"):
    """A prospect who signed up for the newsletter themself on ``when``, never heard from since."""
    with freeze_time(when):
        subject = create_subject(session, actor=Actor.system(), email=email, name="Noor Jansen", locale=locale)
        record_change(session, subject, {"newsletter": "granted"}, source=Source.DOUBLE_OPT_IN,
                      actor=Actor.system())
    session.commit()
    return subject.public_id


def moment(years_after_2020_03_01: int, days: int = 0) -> str:
    from datetime import datetime, timedelta
    start = datetime(2020 + years_after_2020_03_01, 3, 1, 9, 0, 0)
    return (start + timedelta(days=days, seconds=1 if days >= 0 else 0)).isoformat()


@ALL
def test_rule_prospect_retention_asks_once_then_erases_the_silent(app, session, runner):
    years = PROSPECT_YEARS[app.config["JURISDICTION"]]
    public_id = a_prospect(session)
    with freeze_time(moment(years, days=-31)):
        assert "asked 0 person(s)" in run(runner)
    with freeze_time(moment(years, days=-30)):
        assert "asked 1 person(s)" in run(runner)
        [message] = questions_to(session, "noor@example.com")
        email = compose(message)
    assert email["Content-Language"] == "nl"
    assert "/still-interested/" in email.get_body(("plain",)).get_content()
    with freeze_time(moment(years, days=-10)):
        assert "asked 0 person(s)" in run(runner)  # once
    with freeze_time(moment(years, days=-1)):
        assert "erased 0 subject(s)" in run(runner)  # not before the end
    assert len(questions_to(session, "noor@example.com")) == 1
    with freeze_time(moment(years, days=0)):
        output = run(runner)
    assert "erased 1 subject(s): 0 inactive account(s), 1 prospect(s)" in output
    subject = subject_of(session, public_id)
    assert subject.erased_at is not None and subject.email is None
    assert session.scalars(select(RepermissionRequest.outcome)).one() == "erased"
    # Nobody objected: the address may come back.
    assert session.scalars(select(SuppressedAddress)).first() is None


@ALL
def test_rule_prospect_retention_keeps_who_answers_yes(app, session, runner):
    years = PROSPECT_YEARS[app.config["JURISDICTION"]]
    public_id = a_prospect(session)
    client = app.test_client()
    with freeze_time(moment(years, days=-20)):
        run(runner)
        link = re.search(r"https?://\S+/still-interested/\S+", compose(
            questions_to(session, "noor@example.com")[0]).get_body(("plain",)).get_content()).group(0)
        path = link.split("localhost", 1)[1]
        page = client.get(path, headers={"Accept-Language": "nl"})
        assert page.status_code == 200
        assert session.scalars(select(ConsentEvent).where(ConsentEvent.source == "repermission")).first() is None
        answer = client.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True))})
        assert answer.status_code == 200
        again = client.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True))})
        assert again.status_code == 200
    session.rollback()
    renewals = {e.channel.code: e for e in session.scalars(
        select(ConsentEvent).where(ConsentEvent.source == "repermission"))}
    renewal = renewals["newsletter"]  # and every other channel still granted (post, on legitimate interest)
    assert renewal.event_type == "renewed" and renewal.status == "granted"
    assert renewal.evidence["repermission"] == session.scalars(select(RepermissionRequest.public_id)).one()
    with freeze_time(moment(years, days=1)):
        assert "erased 0 subject(s)" in run(runner)
    assert subject_of(session, public_id).erased_at is None
    # The yes restarted the clock: the next question comes a whole period after it.
    # (the yes came 20 days before the first end; the question comes 30 days before the next)
    with freeze_time(moment(2 * years, days=-53)):
        assert "asked 0 person(s)" in run(runner)
    with freeze_time(moment(2 * years, days=-47)):
        assert "asked 1 person(s)" in run(runner)


@FR
def test_a_yes_after_the_deadline_or_on_a_forged_link_changes_nothing(app, session, runner):
    a_prospect(session)
    client = app.test_client()
    with freeze_time(moment(3, days=-30)):
        run(runner)
        link = re.search(r"/still-interested/\S+", compose(
            questions_to(session, "noor@example.com")[0]).get_body(("plain",)).get_content()).group(0)
        assert client.get(link).status_code == 200
        assert client.get(link[:-2] + "xx").status_code == 404
    with freeze_time(moment(3, days=1)):
        assert "This question is closed" in client.get(link, headers={"Accept-Language": "en"}).get_data(as_text=True)
        late = client.post(link, data={"csrf_token": csrf_from(client.get("/manage").get_data(as_text=True))})
    assert late.status_code == 410
    session.rollback()
    assert session.scalars(select(ConsentEvent).where(ConsentEvent.source == "repermission")).first() is None


@FR
def test_contact_after_the_question_supersedes_it_and_the_person_stays(app, session, runner):
    public_id = a_prospect(session)
    with freeze_time(moment(3, days=-30)):
        run(runner)
    with freeze_time(moment(3, days=-5)):
        record_change(session, subject_of(session, public_id), {"email": "granted"},
                      source=Source.MANAGE_LINK, actor=Actor.system())
        session.commit()
    with freeze_time(moment(3, days=2)):
        assert "erased 0 subject(s)" in run(runner)
    assert session.scalars(select(RepermissionRequest.outcome)).one() == "superseded"


@FR
def test_a_prospect_who_receives_nothing_is_not_asked_but_erased_at_the_end(app, session, runner):
    with freeze_time("2020-03-01 09:00:00"):
        subject = create_subject(session, actor=Actor.system(), email="quiet@example.com", locale="fr")
        session.commit()
    with freeze_time(moment(3, days=-30)):
        assert "asked 0 person(s)" in run(runner)
    with freeze_time(moment(3, days=0)):
        assert "erased 1 subject(s)" in run(runner)
    assert subject_of(session, subject.public_id).erased_at is not None


@FR
def test_a_restricted_person_or_one_with_an_open_request_is_held(app, session, runner):
    restricted = a_prospect(session, email="held@example.com")
    requested = a_prospect(session, email="asking@example.com")
    with freeze_time("2020-03-02"):
        subject_of(session, restricted).restricted_at = subject_of(session, restricted).created_at
        session.commit()
    with freeze_time("2022-01-01"):
        file_request(session, subject_of(session, requested), "access")
        session.commit()
    with freeze_time(moment(3, days=1)):
        output = run(runner)
    assert "held 1 subject(s)" in output and restricted in output
    assert subject_of(session, restricted).erased_at is None
    # The request was a contact: that person's clock runs from it.
    assert subject_of(session, requested).erased_at is None


@FR
def test_rule_inactive_account_is_warned_before_closing(app, session, runner):
    from consent_center.accounts.service import create_account
    with freeze_time("2020-03-01 09:00:00"):
        account = create_account(session, email="idle@example.com", password="a long password 2026",
                                 role="customer", actor=Actor.system(), locale="fr")
        public_id = account.subject.public_id
        session.commit()
    with freeze_time(moment(2, days=-30)):
        assert "asked 1 person(s)" in run(runner)
        [message] = questions_to(session, "idle@example.com")
        text = compose(message).get_body(("plain",)).get_content()
    assert "compte" in text and "/still-interested/" in text
    with freeze_time(moment(2, days=0)):
        assert "1 inactive account(s)" in run(runner)
    assert subject_of(session, public_id).erased_at is not None


@FR
def test_rule_objection_fingerprints_outlive_erasure_and_stop_a_reimport(app, session, runner, tmp_path):
    with freeze_time("2021-05-01"):
        subject = create_subject(session, actor=Actor.system(), email="objects@example.com", locale="fr")
        erase(session, subject, actor=Actor.system(), reason="objection")
        session.commit()
    csv = tmp_path / "contacts.csv"
    csv.write_text("external_ref,email\nCRM-9,objects@example.com\n")
    with freeze_time("2024-04-30"):
        assert "dropped 0 objection fingerprint(s)" in run(runner)
        refused = runner.invoke(args=["import", "contacts", str(csv)])
    assert "suppression list" in refused.output
    with freeze_time("2024-05-02"):
        assert "dropped 1 objection fingerprint(s)" in run(runner)
        accepted = runner.invoke(args=["import", "contacts", str(csv)])
    assert accepted.exit_code == 0 and "suppression list" not in accepted.output
    session.rollback()
    assert session.scalars(select(Subject).where(Subject.email == "objects@example.com")).one()


@pytest.mark.parametrize("app", [{"JURISDICTION": "NL"}], indirect=True, ids=["NL"])
def test_a_stop_fingerprint_goes_after_its_period_and_its_list_is_recounted(app, session, runner):
    from consent_center.models import SuppressionList
    from consent_center.models.vocabulary import Medium
    from consent_center.subjects.channel_suppression import suppress_on_channel
    with freeze_time("2021-05-01"):
        suppress_on_channel(session, "+31612345678", Medium.SMS, source=Source.SMS_KEYWORD)
        session.commit()
    with freeze_time("2024-05-02"):
        assert "dropped 1 objection fingerprint(s)" in run(runner)
    session.rollback()
    assert session.scalars(select(SuppressionList.entry_count)).one() == 0


@ALL
def test_rule_request_deadline_follows_the_jurisdiction(app, session, monkeypatch):
    jurisdiction = app.config["JURISDICTION"]
    with freeze_time("2026-01-10 12:00:00"):
        subject = create_subject(session, actor=Actor.system(), email="asks@example.com")
        request = file_request(session, subject, "access")
        assert (request.due_at - request.received_at).days == 30
        with pytest.raises(RequestError, match="between 1 and 61 days"):
            extend(session, request, days=62, reason="many documents", account_id=1)
    # Shorter than the law is allowed; longer is refused at start.
    monkeypatch.setenv("CONSENT_REQUEST_RESPONSE_DAYS", "45")
    with pytest.raises(RuntimeError, match="at most 30 days"):
        create_app({"TESTING": True, "JURISDICTION": jurisdiction})


def test_a_request_is_due_within_one_calendar_month_and_extended_by_at_most_two(session):
    with freeze_time("2027-01-30 12:00:00"):
        subject = create_subject(session, actor=Actor.system(), email="winter@example.com")
        request = file_request(session, subject, "access")
        assert request.due_at.date().isoformat() == "2027-02-28"  # one month, not 30 days (1 March)
        extend(session, request, days=61, reason="many documents", account_id=1)
        assert request.due_at.date().isoformat() == "2027-04-28"  # two further months, not 61 days
    late = file_request(session, subject, "portability")
    with freeze_time("2099-01-01"), pytest.raises(RequestError, match="deadline has passed"):
        extend(session, late, days=10, reason="too late", account_id=1)


@pytest.mark.settings(REQUEST_RESPONSE_DAYS=20)
def test_a_shorter_request_deadline_set_by_the_company_applies(session):
    with freeze_time("2026-01-10 12:00:00"):
        subject = create_subject(session, actor=Actor.system(), email="asks@example.com")
        request = file_request(session, subject, "access")
    assert (request.due_at - request.received_at).days == 20


def test_an_unknown_jurisdiction_refuses_to_start(monkeypatch):
    monkeypatch.setenv("CONSENT_JURISDICTION", "DE")
    with pytest.raises(RuntimeError, match="one of FR, BE, NL"):
        create_app({"TESTING": True})


@pytest.mark.parametrize("app", [{"JURISDICTION": "NL"}], indirect=True, ids=["NL"])
def test_a_person_who_said_stop_keeps_their_fingerprint_past_a_shorter_retention(app, session, runner, tmp_path):
    public_id = a_prospect(session, email="stop@example.com")
    with freeze_time("2021-01-01"):
        record_change(session, subject_of(session, public_id), {"newsletter": "withdrawn"},
                      source=Source.UNSUBSCRIBE_LINK, actor=Actor("subject", public_id))
        session.commit()
    with freeze_time("2022-03-02"):  # the two-year period is over; nobody to ask
        assert "erased 1 subject(s)" in run(runner)
    [fingerprint] = session.scalars(select(SuppressedAddress)).all()
    assert fingerprint.reason == "objection" and fingerprint.created_at.year == 2021
    csv = tmp_path / "contacts.csv"
    csv.write_text("external_ref,email\nCRM-7,stop@example.com\n")
    with freeze_time("2023-06-01"):
        assert "suppression list" in runner.invoke(args=["import", "contacts", str(csv)]).output
    with freeze_time("2024-01-02"):  # three years after the stop
        assert "dropped 1 objection fingerprint(s)" in run(runner)


def test_the_cnil_floor_on_objections_cannot_be_set_lower_in_france(monkeypatch):
    monkeypatch.setenv("CONSENT_RETENTION_OBJECTION_YEARS", "2")
    with pytest.raises(RuntimeError, match="at least 3 years in FR"):
        create_app({"TESTING": True, "JURISDICTION": "FR"})
    monkeypatch.setenv("CONSENT_JURISDICTION", "NL")
    assert create_app({"TESTING": True}).config["RETENTION_OBJECTION_YEARS"] == 2


def renewed_by_a_yes(app, session, runner, address: str) -> set[str]:
    """The question asked 20 days before the prospect period's end, the yes given through its
    link; the channels the yes renewed."""
    client = app.test_client()
    with freeze_time(moment(3, days=-20)):
        run(runner)
        link = re.search(r"/still-interested/\S+", compose(
            questions_to(session, address)[0]).get_body(("plain",)).get_content()).group(0)
        page = client.get(link)
        client.post(link, data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    session.rollback()
    return {e.channel.code for e in session.scalars(select(ConsentEvent).where(
        ConsentEvent.source == "repermission"))}


@FR
def test_a_yes_renews_only_what_the_check_allows_today(app, session, runner):
    from consent_center.models import Channel
    public_id = a_prospect(session, email="lapsed@example.com")
    with freeze_time("2020-03-01 09:00:00"):
        record_change(session, subject_of(session, public_id), {"email": "granted"}, source=Source.DOUBLE_OPT_IN,
                      actor=Actor.system())
        session.commit()
    # The e-mail consent has a 12-month validity, long elapsed (the expiry job has not run): not renewed.
    session.scalars(select(Channel).where(Channel.code == "email")).one().validity_months = 12
    session.commit()
    renewed = renewed_by_a_yes(app, session, runner, "lapsed@example.com")
    assert "newsletter" in renewed and "email" not in renewed


@FR
def test_a_yes_renews_no_channel_a_list_stops(app, session, runner):
    """The person texted STOP: a yes by e-mail renews the newsletter, not the SMS their STOP refuses
    (``renewable``: the answer now, lists included, as GET /check gives it)."""
    from consent_center.subjects.channel_suppression import suppress_on_channel
    public_id = a_prospect(session, email="stopped@example.com")
    with freeze_time("2020-03-01 09:00:00"):
        subject = subject_of(session, public_id)
        subject.phone = "+33612345678"
        record_change(session, subject, {"sms": "granted"}, source=Source.DOUBLE_OPT_IN, actor=Actor.system())
        suppress_on_channel(session, "+33612345678", "sms", source="sms_keyword")
        session.commit()
    renewed = renewed_by_a_yes(app, session, runner, "stopped@example.com")
    assert "newsletter" in renewed and "sms" not in renewed, renewed


@pytest.mark.parametrize("app", [{"JURISDICTION": "NL"}], indirect=True, ids=["NL"])
def test_a_stop_the_person_undid_leaves_no_fingerprint(app, session, runner):
    public_id = a_prospect(session, email="back@example.com")
    with freeze_time("2021-01-01"):
        record_change(session, subject_of(session, public_id), {"newsletter": "withdrawn"},
                      source=Source.UNSUBSCRIBE_LINK, actor=Actor("subject", public_id))
        session.commit()
    with freeze_time("2021-02-01"):
        record_change(session, subject_of(session, public_id), {"newsletter": "granted"},
                      source=Source.DOUBLE_OPT_IN, actor=Actor("subject", public_id))
        session.commit()
    with freeze_time("2023-01-05"):  # asked (the period ends 2023-02-01; the answer is due 30 days on)
        run(runner)
    with freeze_time("2023-02-05"):
        assert "erased 1 subject(s)" in run(runner)
    assert session.scalars(select(SuppressedAddress)).first() is None  # they may come back


@FR
def test_an_address_on_an_e_mail_suppression_list_is_not_written_to(app, session, runner):
    from consent_center.accounts.service import create_account
    from consent_center.models.vocabulary import Medium
    from consent_center.subjects.channel_suppression import suppress_on_channel
    with freeze_time("2020-03-01 09:00:00"):
        create_account(session, email="complained@example.com", password="a long password 2026",
                       role="customer", actor=Actor.system(), locale="fr")
        suppress_on_channel(session, "complained@example.com", Medium.EMAIL, source=Source.COMPLAINT)
        session.commit()
    with freeze_time(moment(2, days=-30)):
        assert "asked 0 person(s)" in run(runner)
    assert questions_to(session, "complained@example.com") == []
