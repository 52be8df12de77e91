"""Activity a marketing tool reports restarts the retention clock; a mail open never does (issue 25, item 2).

POST /api/v1/subjects/{id}/activity: a purchase, a click, a reply or a visit
is a contact coming from the person; an open is refused with the reason
(CNIL), and so is a moment in the future or without its offset.
"""
import itertools
import json
import re
import shlex
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center.clock import utcnow
from consent_center.ledger import Actor
from consent_center.models import Subject
from consent_center.rights.effects import restrict
from consent_center.rights.erasure import erase
from consent_center.rights.repermission import period_end
from consent_center.subjects.contact import ActivityRefused, clocks, report_activity

from .api_fixtures import ApiClient, assert_matches_spec, assert_problem, db_counts
from .test_sending_guides import curl_commands

# Three years from the last contact, as the French preset, whatever the jurisdiction's presets become.
pytestmark = pytest.mark.settings(RETENTION_PROSPECT_YEARS=3, RETENTION_ACCOUNT_YEARS=3, REPERMISSION_NOTICE_DAYS=0)
INTEGRATING = Path(__file__).resolve().parent.parent / "docs" / "integrating.md"
CREATED = "2023-01-01T10:00:00+00:00"


def activity(api, subject_id: str, **body):
    return api.post(f"/subjects/{subject_id}/activity", json=body)


def subject_of(session, public_id: str) -> Subject:
    session.rollback()
    return session.scalars(select(Subject).where(Subject.public_id == public_id)).one()


def contact_of(session, public_id: str) -> tuple:
    """(last_contact_at, last_contact_kind, restricted_at) as committed; the read's transaction
    ends with it (on SQLite it holds the write lock the next request needs)."""
    subject = subject_of(session, public_id)
    found = (subject.last_contact_at, subject.last_contact_kind, subject.restricted_at)
    session.rollback()
    return found


def prospect(make_subject, email: str = "lea@example.com") -> str:
    with freeze_time(CREATED):
        return make_subject(email).public_id


def test_a_click_is_counted_and_the_answer_shows_where_the_clock_stands(app, api, session, make_subject):
    lea = prospect(make_subject)
    with freeze_time("2025-06-01T12:00:00Z"):
        response = activity(api, lea, kind="click", at="2025-06-01T09:30:00+02:00")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body == {"subject": lea, "counted": True, "last_contact_at": "2025-06-01T07:30:00+00:00",
                    "last_contact_kind": "click", "retention_ends_at": "2028-06-01T07:30:00+00:00"}
    assert_matches_spec(app, body, "ActivityResult")
    assert contact_of(session, lea)[:2] == (datetime(2025, 6, 1, 7, 30, tzinfo=UTC), "click")


@pytest.mark.parametrize("kind", ["purchase", "click", "reply", "visit"])
def test_each_reported_kind_without_at_counts_now(api, session, make_subject, kind):
    lea = prospect(make_subject)
    with freeze_time("2025-06-01T12:00:00Z"):
        body = activity(api, lea, kind=kind).get_json()
    assert body["counted"] is True and body["last_contact_kind"] == kind
    assert body["last_contact_at"] == "2025-06-01T12:00:00+00:00"
    assert contact_of(session, lea)[1] == kind


def test_an_open_is_refused_with_the_reason_and_writes_nothing(api, session, make_subject):
    lea = prospect(make_subject)
    before = db_counts(session)
    body = assert_problem(activity(api, lea, kind="open", at="2025-06-01T09:30:00+02:00"), 422, "validation-error")
    assert "a mail open is not a contact coming from the person" in body["detail"]
    assert "CNIL" in body["detail"]
    assert body["errors"] == [{"pointer": "/kind", "detail": body["detail"].removeprefix("/kind: ")}]
    assert contact_of(session, lea)[0] is None
    assert db_counts(session) == before


@pytest.mark.parametrize("kind", ["opened", "OPEN", "login", "", "purchase "])
def test_any_other_kind_is_422_naming_the_allowed_ones(api, session, make_subject, kind):
    lea = prospect(make_subject)
    body = assert_problem(activity(api, lea, kind=kind), 422, "validation-error")
    assert "purchase, click, reply, visit" in body["detail"]
    assert [e["pointer"] for e in body["errors"]] == ["/kind"]
    assert contact_of(session, lea)[0] is None


def test_the_service_itself_refuses_an_open_whoever_calls_it(app, session, make_subject):
    subject = subject_of(session, prospect(make_subject))
    with pytest.raises(ActivityRefused, match="a mail open is not a contact coming from the person") as refused:
        report_activity(session, subject, "open", utcnow())
    assert refused.value.field == "kind"
    assert subject.last_contact_at is None


def test_a_moment_more_than_five_minutes_ahead_is_422_and_up_to_five_is_taken_as_now(api, session, make_subject):
    lea = prospect(make_subject)
    with freeze_time("2025-06-01T12:00:00Z"):
        body = assert_problem(activity(api, lea, kind="click", at="2025-06-01T12:05:01Z"), 422, "validation-error")
        assert [e["pointer"] for e in body["errors"]] == ["/at"]
        assert "5 minutes" in body["detail"]
        assert contact_of(session, lea)[0] is None
        # A tool's clock a little fast: accepted, and never stored as a contact still to come.
        ahead = activity(api, lea, kind="click", at="2025-06-01T14:05:00+02:00").get_json()
    assert ahead["counted"] is True and ahead["last_contact_at"] == "2025-06-01T12:00:00+00:00"


@pytest.mark.parametrize("at", ["2025-06-01T09:30:00", "2025-06-01", "yesterday", 1748770200])
def test_a_time_without_its_offset_or_not_a_time_is_422(api, session, make_subject, at):
    lea = prospect(make_subject)
    body = assert_problem(activity(api, lea, kind="click", at=at), 422, "validation-error")
    assert [e["pointer"] for e in body["errors"]] == ["/at"]
    assert contact_of(session, lea)[0] is None


def test_a_naive_time_is_refused_with_what_to_send(api, make_subject):
    body = assert_problem(activity(api, prospect(make_subject), kind="click", at="2025-06-01T09:30:00"), 422)
    assert "offset" in body["detail"]


def test_an_older_moment_is_accepted_and_moves_nothing(api, session, make_subject):
    lea = prospect(make_subject)
    with freeze_time("2025-06-01T12:00:00Z"):
        first = activity(api, lea, kind="click", at="2025-05-01T10:00:00Z").get_json()
        older = activity(api, lea, kind="purchase", at="2025-04-01T10:00:00Z")
    assert older.status_code == 200
    assert older.get_json() == first | {"counted": False}
    assert contact_of(session, lea)[:2] == (datetime(2025, 5, 1, 10, tzinfo=UTC), "click")


def test_an_unknown_subject_is_a_404_problem_as_on_the_other_subject_endpoints(api):
    assert_problem(activity(api, "nope", kind="click"), 404, "not-found")
    assert_problem(api.get("/subjects/nope"), 404, "not-found")


def test_an_erased_subject_answers_409_erased_as_a_patch_does(api, session, make_subject):
    lea = prospect(make_subject)
    erase(session, subject_of(session, lea), actor=Actor.system())
    session.commit()
    body = assert_problem(activity(api, lea, kind="purchase"), 409, "erased")
    assert lea in body["detail"]
    assert assert_problem(api.patch(f"/subjects/{lea}", json={"locale": "nl"}), 409, "erased")["detail"] == body["detail"]
    assert contact_of(session, lea)[0] is None


def test_a_restricted_subject_is_counted_recording_a_contact_is_not_marketing(api, session, make_subject):
    lea = prospect(make_subject)
    restrict(session, subject_of(session, lea), actor=Actor.system())
    session.commit()
    response = activity(api, lea, kind="reply")
    assert response.status_code == 200
    assert response.get_json()["counted"] is True
    _, kind, restricted_at = contact_of(session, lea)
    assert kind == "reply"
    assert restricted_at is not None  # and it stays restricted: the report switched nothing on


def test_a_key_without_subjects_write_gets_403_and_no_key_401(client, api_with, session, make_subject):
    lea = prospect(make_subject)
    assert_problem(activity(api_with("consent:read"), lea, kind="click"), 403, "forbidden-scope")
    assert_problem(activity(ApiClient(client, None), lea, kind="click"), 401, "unauthenticated")
    assert activity(api_with("subjects:write"), lea, kind="click").status_code == 200


def test_the_body_is_json_with_no_unknown_field(api, make_subject):
    lea = prospect(make_subject)
    assert_problem(api.post(f"/subjects/{lea}/activity", data="kind=click",
                            headers={"Content-Type": "application/x-www-form-urlencoded"}), 415)
    body = assert_problem(activity(api, lea, kind="click", campaign="spring"), 422, "validation-error")
    assert [e["pointer"] for e in body["errors"]] == ["/campaign"]


def test_rule_a_mail_open_does_not_restart_the_clock_a_click_does(api, runner, session, make_subject):
    opened, clicked = prospect(make_subject, "opened@example.com"), prospect(make_subject, "clicked@example.com")
    with freeze_time("2025-06-01T12:00:00Z"):
        assert_problem(activity(api, opened, kind="open"), 422)
        click = activity(api, clicked, kind="click").get_json()
    # The open left the prospect's clock at the collection of their data; the click restarted the other's.
    ends = {c.subject_id: period_end(c) for c in clocks(session)}
    assert ends[subject_of(session, opened).id] == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert click["retention_ends_at"] == "2028-06-01T12:00:00+00:00"
    assert ends[subject_of(session, clicked).id].isoformat() == click["retention_ends_at"]
    session.rollback()
    with freeze_time("2026-01-01T10:00:01Z"):
        result = runner.invoke(args=["retention", "run", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"prospect: {opened}" in result.output and clicked not in result.output


def test_a_link_fetched_from_a_message_is_no_contact(client, api, session, make_subject):
    """Mail scanners fetch every link of a message: a GET of the center's pages counts nothing."""
    lea = prospect(make_subject)
    link = api.get(f"/subjects/{lea}/unsubscribe-link?channel=newsletter").get_json()["url"]
    assert client.get(urlsplit(link).path).status_code == 200
    assert api.get(f"/subjects/{lea}").status_code == 200
    assert contact_of(session, lea)[0] is None


def documented_reports(guide: str) -> list[tuple[str, dict]]:
    """Each curl to the activity endpoint in docs/integrating.md, with the answer written under it."""
    found = []
    lines = guide.splitlines()
    for command in curl_commands(guide):
        if "/activity" not in command:
            continue
        end = next(i for i, line in enumerate(lines) if command.splitlines()[-1].strip() in line.strip())
        answer = []
        for line in lines[end + 1:]:
            if not line.startswith("    ") or line.strip().startswith("curl"):
                break
            answer.append(line.strip())
        found.append((command, json.loads(" ".join(answer))))
    return found


def test_the_guides_curl_examples_run_and_answer_what_the_guide_shows(client, runner, session, make_subject):
    """docs/integrating.md's examples, sent as written (no test runs that page's other curls)."""
    key = runner.invoke(args=["apikey", "create", "--name", "Newsletter platform", "--scope", "subjects:write"])
    lea = prospect(make_subject)
    reports = documented_reports(INTEGRATING.read_text(encoding="utf-8"))
    assert [shown.get("counted", shown.get("status")) for _, shown in reports] == [True, 422]
    for command, shown in reports:
        command = command.replace("$KEY", key.output.strip().splitlines()[-1])
        words = shlex.split(command.replace("$API", "/api/v1").replace("$ID", lea).replace("\\\n", " "))
        headers = dict(w.split(": ", 1) for flag, w in itertools.pairwise(words) if flag == "-H")
        body = words[words.index("-d") + 1]
        with freeze_time("2026-06-01T12:00:00Z"):
            answer = client.post(words[-1], data=body, headers=headers)
        got = answer.get_json(force=True)
        # What the guide abbreviates (…) is left out; everything it shows is the center's answer.
        assert {k: v for k, v in shown.items() if v != "…"} == {k: got[k] for k in shown if shown[k] != "…"}, command
        assert re.fullmatch(r"application/(problem\+)?json", answer.mimetype)
