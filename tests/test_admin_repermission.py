"""/admin/repermission: every "still interested?" question, its outcome, whom the next retention run asks or erases.

France's presets: a prospect is kept three years from their last contact, and asked 30 days before the end.
"""
import re

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center import tokens
from consent_center.ledger import Actor, record_change
from consent_center.models import RepermissionRequest, Role, Source, Subject
from consent_center.rights.requests import file_request
from consent_center.subjects.service import create_subject

from .conftest import form_post

pytestmark = pytest.mark.settings(JURISDICTION="FR")


def prospect(session, email: str | None, when: str) -> str:
    """A prospect whose clock starts ``when``: their own sign-up to e-mail, or (no address) their data's collection."""
    with freeze_time(when):
        subject = create_subject(session, actor=Actor.system(), email=email, name="Someone", locale="en")
        if email:
            record_change(session, subject, {"email": "granted"}, source=Source.API, actor=Actor.system())
        session.commit()
        return subject.public_id


def question_of(session, public_id: str) -> RepermissionRequest:
    session.rollback()
    return session.scalars(select(RepermissionRequest).join(Subject).where(Subject.public_id == public_id)).one()


def row_with(html: str, text: str, table: str) -> str:
    """The row of one table (by its caption's id) that names ``text`` (a person's public id)."""
    found = re.search(rf'<caption id="{table}">.*?</table>', html, re.S)
    assert found, f"no table {table}"
    rows = [r for r in re.findall(r"<tr>.*?</tr>", found.group(0), re.S) if text in r]
    assert len(rows) == 1, f"{len(rows)} rows name {text}"
    return rows[0]


def open_campaign(client, make_account, auth, role=Role.ADMIN):
    make_account(f"{role}@example.com", role=role, locale="en")
    auth.login(f"{role}@example.com")
    return client.get("/admin/repermission")


def test_the_campaign_shows_an_asked_question_a_renewed_one_and_who_is_due(
        client, runner, session, make_account, auth):
    asked = prospect(session, "ana@example.com", "2020-01-10 09:00:00")
    renewed = prospect(session, "bo@example.com", "2020-01-10 09:00:00")
    next_up = prospect(session, "cy@example.com", "2020-01-25 09:00:00")
    with freeze_time("2022-12-20 03:00:00"):
        result = runner.invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    assert f"asked: {asked}" in result.output and f"asked: {renewed}" in result.output
    assert next_up not in result.output  # three years less 30 days have not passed for Cy yet
    question = question_of(session, renewed).public_id
    with freeze_time("2022-12-22 18:00:00"):
        token = tokens.sign("repermission", {"q": question})  # the e-mail's link
        assert form_post(client, f"/still-interested/{token}", {}).status_code == 200
    with freeze_time("2023-01-05 10:00:00"):
        response = open_campaign(client, make_account, auth)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    open_row = row_with(html, asked, "questions-caption")
    assert f'href="/admin/people/{asked}"' in open_row and "Asked, waiting for an answer" in open_row
    # The answer is due at the period's end (10 January), but never sooner than the notice's 30 days.
    assert "Prospect" in open_row and "Jan 19, 2023" in open_row
    renewed_row = row_with(html, renewed, "questions-caption")
    assert "Renewed: they said yes" in renewed_row and "Dec 22, 2022" in renewed_row
    due_row = row_with(html, next_up, "next-caption")
    assert f'href="/admin/people/{next_up}"' in due_row and "Will be asked" in due_row
    assert "Jan 25, 2023" in due_row
    assert re.search(r"<dt>Asked, waiting for an answer</dt><dd>1</dd>", html)
    assert re.search(r"<dt>Renewed: they said yes</dt><dd>1</dd>", html)
    assert re.search(r"<dt>To ask</dt><dd>1</dd>", html) and re.search(r"<dt>Every question</dt><dd>2</dd>", html)


def test_the_campaign_names_whom_the_next_run_erases_and_whom_it_holds_and_why(
        client, runner, session, make_account, auth):
    silent = prospect(session, "dee@example.com", "2020-01-10 09:00:00")
    unreachable = prospect(session, None, "2020-01-10 09:00:00")  # nowhere to ask her
    requester = prospect(session, "fay@example.com", "2020-01-10 09:00:00")
    with freeze_time("2020-01-10 09:00:00"):  # a request is a contact too: filed the day she signed up, still open
        file_request(session, session.scalars(select(Subject).where(Subject.public_id == requester)).one(),
                     "access")
        session.commit()
    with freeze_time("2022-12-20 03:00:00"):
        assert runner.invoke(args=["retention", "run"]).exit_code == 0
    with freeze_time("2023-01-25 10:00:00"):  # past the question's deadline, 19 January
        html = open_campaign(client, make_account, auth).get_data(as_text=True)
    erased_row = row_with(html, silent, "next-caption")
    assert "Will be erased" in erased_row and "Asked; no yes by the deadline." in erased_row
    # Her question, in the list of questions: past its deadline without an answer.
    assert "No answer by the deadline: erased at the next run" in row_with(html, silent, "questions-caption")
    unreachable_row = row_with(html, unreachable, "next-caption")
    assert "Will be erased" in unreachable_row and "Cannot be asked: no deliverable address" in unreachable_row
    held_row = row_with(html, requester, "next-caption")
    assert "Held" in held_row and "A data request is open: it is answered first." in held_row
    assert html.index(silent) < html.index(requester)  # those to erase first
    assert re.search(r"<dt>Held</dt><dd>1</dd>", html)


def test_a_long_list_says_it_is_cut_and_how_to_see_it_whole(client, session, make_account, auth, monkeypatch):
    monkeypatch.setattr("consent_center.admin.repermission.DUE_SHOWN", 1)
    first = prospect(session, "gil@example.com", "2020-01-10 09:00:00")
    second = prospect(session, "hal@example.com", "2020-01-11 09:00:00")
    with freeze_time("2023-01-05 10:00:00"):
        html = open_campaign(client, make_account, auth).get_data(as_text=True)
    assert "The first 1 of 2 are shown, those to erase first." in html
    assert "flask --app wsgi retention run --dry-run" in html
    assert first in html and second not in html


def test_an_empty_campaign_says_so(client, make_account, auth):
    html = open_campaign(client, make_account, auth).get_data(as_text=True)
    assert "No question asked yet." in html and "Nobody is due" in html


def test_an_auditor_reads_the_campaign_with_links_to_the_audit_pages(client, runner, session, make_account, auth):
    asked = prospect(session, "ida@example.com", "2020-01-10 09:00:00")
    with freeze_time("2022-12-20 03:00:00"):
        assert runner.invoke(args=["retention", "run"]).exit_code == 0
    with freeze_time("2022-12-21 10:00:00"):
        response = open_campaign(client, make_account, auth, role=Role.AUDITOR)
        audit_home = client.get("/audit/").get_data(as_text=True)
    assert response.status_code == 200
    assert f'href="/audit/subjects/{asked}"' in row_with(response.get_data(as_text=True), asked, "questions-caption")
    assert 'href="/admin/repermission"' in audit_home


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.ADMIN])
def test_support_and_admins_find_the_campaign_from_the_back_office(client, make_account, auth, role):
    response = open_campaign(client, make_account, auth, role=role)
    assert response.status_code == 200 and 'href="/admin/rules"' in response.get_data(as_text=True)
    assert 'href="/admin/repermission"' in client.get("/admin/").get_data(as_text=True)


def test_a_customer_and_an_anonymous_visitor_get_no_campaign(client, make_account, auth):
    anonymous = client.get("/admin/repermission")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert open_campaign(client, make_account, auth, role=Role.CUSTOMER).status_code == 403
