"""Dates for people: one formatter (Babel, the viewer's language and time zone) on every page."""
import re

from freezegun import freeze_time

from consent_center.config import PROJECT_ROOT

from .conftest import form_post

ISO_MOMENT = re.compile(r"\d{4}-\d\d-\d\d(T|\b)")


def test_my_data_reads_like_history_and_the_flash_writes_dates_as_the_page(client, auth, make_account):
    with freeze_time("2027-01-05 23:30:00"):  # already 6 January in Paris
        make_account("lea@example.com", name="Léa Petit", locale="fr")
        auth.login("lea@example.com")
        form_post(client, "/space/preferences", {"active": ["email", "post"]})
        filed = form_post(client, "/space/requests", {"kind": "access"})
        request_page = client.get(filed.location).get_data(as_text=True)
        page = client.get("/space/data").get_data(as_text=True)
    # The flash and the page write the due date alike, in French, in Paris time.
    assert "Nous répondons au plus tard le 5 février 2027." in request_page
    assert "5 févr. 2027" in request_page and "2027-02-0" not in request_page
    body = page[page.index("<main"):page.index("</main>")]
    assert "Français" in body and "<dd>fr</dd>" not in body
    assert "6 janv. 2027, 00:30:00" in body  # the account's creation, 23:30 UTC, in Paris
    assert not ISO_MOMENT.search(body.replace(filed.location.rsplit("/", 1)[1], ""))
    # Channel names, not codes; the newest change first, as history.
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td>", body)
    assert rows[0] == ("6 janv. 2027, 00:30:00", "SMS")
    assert {name for _, name in rows} >= {"SMS", "E-mail commercial"}
    assert rows[-1][1] != "sms" and all(not name.islower() for _, name in rows)


def test_no_template_formats_a_date_but_through_the_one_filter():
    stray = re.compile(r"datetimeformat|dateformat|strftime|\.isoformat\(\)(?!\s*}}\">)")
    found = [str(path.relative_to(PROJECT_ROOT)) for path in (PROJECT_ROOT / "templates").rglob("*.*")
             if stray.search(path.read_text())]
    assert found == []
    sources = (PROJECT_ROOT / "consent_center").rglob("*.py")
    shown = [str(p) for p in sources if re.search(r"flask_babel import .*format_date", p.read_text())]
    assert [p for p in shown if not p.endswith("web/dates.py")] == []
