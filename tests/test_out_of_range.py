"""Dates and cursors out of range: a clear 4xx, never a 500 (invariant 8).

Python's datetime stops at years 1 and 9999, SQLite's integers and
PostgreSQL's bigint at 2**63 - 1: a date at either end moved by a time
zone or a day, or a cursor beyond 64 bits, used to escape as a 500. Each
kind of parameter is parsed in one place (export filters, the auditor's
moment, the page cursor, the change feed's cursor); these are the cases
that broke, on the suite's database (SQLite, or PostgreSQL in CI).
"""
from __future__ import annotations

import base64

import pytest

from consent_center.models import Role

from .api_fixtures import assert_problem
from .conftest import form_post

HUGE = "99999999999999999999999"
BEYOND_BIGINT = str(2**63)
BEYOND_INTEGER = str(2**31)  # the three page cursors are integer columns on PostgreSQL
EXPORT_TIMES = [
    ("until", "9999-12-31"),                    # the end of that day is year 10000
    ("until", "9999-12-31T23:00:00-05:00"),     # in UTC: year 10000
    ("since", "0001-01-01T00:00:00+01:00"),     # in UTC: year 0
    ("since", "0001-01-01"),                    # at the very start: fine, an empty export
]


@pytest.fixture
def auditor(make_account, auth):
    make_account("aude@example.com", role=Role.AUDITOR, locale="en")
    auth.login("aude@example.com")


@pytest.mark.parametrize("name, value", EXPORT_TIMES)
def test_export_times_at_the_ends_of_the_calendar_are_a_400_page_with_the_form(client, auditor, name, value):
    for url in ("/audit/export", "/audit/export/events.csv"):
        response = client.get(url, query_string={name: value}, buffered=True)
        assert response.status_code in (200, 400), (url, response.status_code)
        if response.status_code == 400:
            html = response.get_data(as_text=True)
            assert 'name="until"' in html and value in html  # the form, with what was typed
        else:
            assert value == "0001-01-01"


@pytest.mark.parametrize("name, value", EXPORT_TIMES)
def test_export_times_at_the_ends_of_the_calendar_are_a_422_problem_on_the_api(api, name, value):
    response = api.get("/export/events", query_string={name: value})
    if value == "0001-01-01":
        assert response.status_code == 200
        return
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["parameter"] == name
    assert "range" in problem["errors"][0]["detail"]


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
@pytest.mark.parametrize("time", ["", "00:00", "23:59"])
def test_the_auditors_moment_at_the_ends_of_the_calendar_is_never_a_500(client, auditor, make_subject, day, time):
    person = make_subject("lea@example.com")
    for url in ("/audit/counts", f"/audit/subjects/{person.public_id}"):
        response = client.get(url, query_string={"date": day, "time": time})
        assert response.status_code in (200, 400), (url, day, time, response.status_code)
        assert f'value="{day}"' in response.get_data(as_text=True)  # the form kept


@pytest.mark.parametrize("before", [HUGE, BEYOND_BIGINT, BEYOND_INTEGER, "-" + HUGE, "-5", "1e30", "0x10", " 12 ", "1_2", "１２"])
def test_a_page_cursor_beyond_64_bits_or_malformed_is_a_400(client, auth, make_account, before):
    make_account("camille@example.com", name="Camille", locale="en")
    make_account("ada@example.com", role=Role.ADMIN, locale="en")
    pages = {"camille@example.com": ["/space/history", "/space/receipts"], "ada@example.com": ["/admin/log"]}
    for email, urls in pages.items():
        auth.login(email)
        for url in urls:
            response = client.get(url, query_string={"before": before})
            assert response.status_code == 400, (url, before, response.status_code)
            assert "could not be understood" in response.get_data(as_text=True)
        auth.logout()


def test_a_page_cursor_in_range_still_pages(client, auth, make_account):
    make_account("camille@example.com", name="Camille", locale="en")
    make_account("ada@example.com", role=Role.ADMIN, locale="en")
    pages = {"camille@example.com": ["/space/history", "/space/receipts"], "ada@example.com": ["/admin/log"]}
    for email, urls in pages.items():
        auth.login(email)
        for before in ("", "1", str(2**31 - 1), "0"):
            for url in urls:
                assert client.get(url, query_string={"before": before}).status_code == 200, (url, before)
        auth.logout()


@pytest.mark.parametrize("txid, event_id", [(HUGE, "1"), ("1", HUGE), (BEYOND_BIGINT, BEYOND_BIGINT)])
def test_a_feed_cursor_beyond_64_bits_is_a_422(api, txid, event_id):
    token = base64.urlsafe_b64encode(f"1.{txid}.{event_id}".encode()).decode().rstrip("=")
    problem = assert_problem(api.get("/events", query_string={"after": token}), 422)
    assert problem["errors"][0]["parameter"] == "after"


@pytest.mark.parametrize("action", ["/admin/accounts/{}/disable", "/admin/keys/{}/revoke"])
@pytest.mark.parametrize("number", [BEYOND_INTEGER, BEYOND_BIGINT, HUGE])
def test_an_admin_action_on_an_id_beyond_the_column_is_a_404(client, auth, make_account, action, number):
    make_account("ada@example.com", role=Role.ADMIN, locale="en")
    auth.login("ada@example.com")
    response = form_post(client, "/admin/accounts", {}, action=action.format(number))
    assert response.status_code == 404
