"""A customer in a real browser: log in, switch SMS off, see it confirmed and in the history."""
import json
from pathlib import Path

import pytest

from ..conftest import PASSWORD
from .conftest import axe_violations, copy_for_readme
from .conftest import log_in as log_in_with


@pytest.fixture
def camille(make_account):
    return make_account("camille@example.com", name="Camille Martin", locale="en")


def log_in(page, base, email="camille@example.com"):
    log_in_with(page, base, email, PASSWORD)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_customer_turns_sms_off_and_sees_it_confirmed(live_server, new_page, camille, screenshot, javascript,
                                                      viewport):
    page = new_page(javascript=javascript)
    log_in(page, live_server)
    page.wait_for_url(f"{live_server}/space/preferences")
    sms = page.get_by_role("switch", name="Text messages (SMS)")
    word = page.locator("li.channel", has=sms).locator(".switch-state")
    assert sms.is_checked() and word.inner_text() == "On"
    sms.focus()
    page.keyboard.press("Space")  # keyboard operable
    assert not sms.is_checked()
    # The switch's own word follows it before saving, with CSS alone; its name stays its label.
    assert word.inner_text() == "Off" and page.get_by_role("switch", name="Text messages (SMS)").count() == 1
    page.get_by_role("button", name="Save my choices").click()
    page.wait_for_url(f"{live_server}/space/preferences")
    status = page.get_by_role("status").inner_text().strip()
    # The confirmation names the change, then links to its signed receipt.
    assert status.startswith("Text messages (SMS) is now Inactive.") and "signed receipt" in status
    assert page.get_by_role("status").get_by_role("link").first.get_attribute("href").startswith("/space/receipts/")
    assert not page.get_by_role("switch", name="Text messages (SMS)").is_checked()
    shot = screenshot(page, f"preferences-{'js' if javascript else 'nojs'}")
    if javascript:
        copy_for_readme(shot, f"preferences-{shot.stem.rsplit('-', 1)[-1]}.png")
    if viewport == "phone":  # the links are in the menu
        page.get_by_text("Menu", exact=True).click()
    page.get_by_role("link", name="My history").click()
    row = page.get_by_role("row").filter(has_text="Your personal space")
    assert "Text messages (SMS)" in row.inner_text() and "Inactive (withdrawn)" in row.inner_text()
    # The new receipt: listed first, and downloadable as signed JSON.
    if viewport == "phone":
        page.get_by_text("Menu", exact=True).click()
    page.get_by_role("link", name="My receipts").click()
    newest = page.locator(".receipt-item").first
    assert "Text messages (SMS)" in newest.inner_text() and "Inactive" in newest.inner_text()
    with page.expect_download() as download_info:
        newest.get_by_role("link", name="Download (JSON with signature)").click()
    receipt = json.loads(Path(download_info.value.path()).read_text(encoding="utf-8"))
    assert [(s["service"], s["status"]) for s in receipt["document"]["services"]] == [
        ("Text messages (SMS)", "withdrawn")]


def test_pages_have_no_serious_accessibility_violation(live_server, new_page, camille, screenshot):
    page = new_page()
    for path in ("/login", "/privacy", "/privacy/versions", "/nowhere"):
        page.goto(f"{live_server}{path}")
        assert axe_violations(page) == [], path
    screenshot(page, "not-found")
    log_in(page, live_server)
    for path in ("/space/preferences", "/space/history"):
        page.goto(f"{live_server}{path}")
        assert axe_violations(page) == [], path


def test_the_switch_has_a_visible_focus(live_server, new_page, camille):
    page = new_page()
    log_in(page, live_server)
    sms = page.get_by_role("switch", name="Text messages (SMS)")
    sms.focus()
    outline = sms.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline not in ("", "none")


@pytest.mark.parametrize("locale,title", [("fr", "Comment pouvons-nous vous contacter\u202f?"),
                                          ("nl", "Hoe mogen wij contact met u opnemen?")])
def test_the_space_speaks_the_customers_language(live_server, new_page, make_account, locale, title):
    make_account("jan@example.com", locale=locale)
    page = new_page(locale=locale)
    page.goto(f"{live_server}/login")
    page.locator("#email").fill("jan@example.com")
    page.locator("#password").fill(PASSWORD)
    page.locator("form.card button[type=submit]").click()
    page.wait_for_url(f"{live_server}/space/preferences")
    assert page.get_by_role("heading", level=1).inner_text() == title
