"""axe-core over every page of the app, reached as the visitor who may open it.

Each page is also narrowed to a 360-pixel phone: nothing may scroll sideways, the header
stays one short row (the links are in a menu), tables become cards. In French and Dutch,
on a sample, the header must hold on one row at 1280 px and axe also runs at 360 px.

The pages come from ``app.url_map``: a new page is checked without anyone
adding it here, and a page this test cannot reach fails it until someone
says why (SKIPPED). One browser context per kind of visitor keeps it quick.
Every page's words in French and Dutch: tests/test_every_page_translated.py.
"""
from __future__ import annotations

import pytest
from sqlalchemy import update

from consent_center.models import Account

from ..conftest import PASSWORD
from .conftest import VIEWPORTS, axe_violations, shoot
from .sweep_data import ROLES, pages, seed

DESKTOP, PHONE = VIEWPORTS["desktop"], VIEWPORTS["phone"]
# Pages axe also checks in French and Dutch (words change length; the rest is the same markup).
AXE_SAMPLE = {"auth.login", "public.subscribe", "unsubscribe.page", "space.preferences", "space.history",
              "space.receipts_list", "audit.export_form", "admin.policies", "error 403"}
# A page of each kind of visitor, whose header (their menu) must hold on one row in French and Dutch.
HEADER_SAMPLE = {"auth.login", "space.preferences", "requests_desk.queue", "audit.index", "admin.index"}


@pytest.fixture
def seeded(app, session):
    return seed(session)


def open_context(browser, locale="en"):
    return browser.new_context(viewport=DESKTOP, locale=locale,
                               extra_http_headers={"Accept-Language": locale})


# The innermost elements that stick out on the right, outside scrolling boxes: what to fix.
WIDEST = """() => [...document.querySelectorAll('body *')]
  .filter(el => !el.closest('.table-wrap, pre')
          && el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5
          && ![...el.children].some(c => c.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5))
  .slice(0, 3).map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
                        + ' ' + (el.textContent || '').trim().slice(0, 40))"""


# The header's height, and the tables that still scroll sideways (on a phone each row is a card).
LAYOUT = """() => ({header: document.querySelector('header.topbar').getBoundingClientRect().height,
  scrolling: [...document.querySelectorAll('.table-wrap')].filter(w => w.scrollWidth > w.clientWidth + 1)
    .map(w => (w.querySelector('caption') || w).textContent.trim().slice(0, 40))})"""
PHONE_HEADER_MAX, DESKTOP_HEADER_MAX = 120, 80  # px: one row on a phone, one row at 1280 in every language


def header_on_a_desktop(page) -> list[str]:
    """Whether the header holds on one row at 1280 px (French words are the longest)."""
    height = page.evaluate(LAYOUT)["header"]
    return [f"the header is {height:.0f}px tall at 1280px: it wraps"] if height > DESKTOP_HEADER_MAX else []


def layout_on_a_phone(page, axe: bool = False) -> list[str]:
    """Narrowed to a 360-pixel phone: no sideways scroll, a short header, tables as cards (and axe)."""
    page.set_viewport_size(PHONE)
    try:
        wide = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        culprits = page.evaluate(WIDEST) if wide > 0 else []
        layout = page.evaluate(LAYOUT)
        found = axe_violations(page) if axe else []
    finally:
        page.set_viewport_size(DESKTOP)
    if wide > 0:
        found.append(f"the page is {wide}px wider than a 360px phone: {culprits}")
    if layout["header"] > PHONE_HEADER_MAX:
        found.append(f"the header is {layout['header']:.0f}px tall on a phone")
    if layout["scrolling"]:
        found.append(f"tables scroll sideways on a phone: {layout['scrolling']}")
    return found


def the_phone_menu_works_from_the_keyboard(page) -> list[str]:
    """Closed, the menu hides its links; Enter on its summary opens it, and axe finds nothing."""
    page.set_viewport_size(PHONE)
    try:
        links = page.locator("details.menu nav a")
        if links.first.is_visible():
            return ["the phone menu shows its links before it is opened"]
        page.locator("details.menu > summary").focus()
        page.keyboard.press("Enter")
        found = [] if links.first.is_visible() else ["Enter on the menu's summary does not open it"]
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.closest('nav') === null"):
            found.append("Tab after the menu's summary does not reach its first link")
        return found + axe_violations(page)
    finally:
        page.keyboard.press("Escape")
        page.set_viewport_size(DESKTOP)


class Sweep:
    """Open every page as the visitor who may see it; keep what ``inspect`` finds on each."""

    def __init__(self, browser, base: str, locale: str, inspect) -> None:
        self.browser, self.base, self.locale, self.inspect = browser, base, locale, inspect
        self.checked: dict[str, str] = {}
        self.failures: dict[str, list[str]] = {}

    def check(self, page, key: str, *, phone: bool = True) -> None:
        found = self.inspect(page, key, phone)
        if found:
            self.failures[key] = found
            shoot(page, f"sweep-{self.locale}-{key}")

    def run(self, todo: dict[str, str]) -> None:
        for role in ROLES:
            context = open_context(self.browser, self.locale)
            try:
                page = context.new_page()
                if role != "anonymous":
                    self.log_in(page, "camille@example.com" if role == "customer" else f"{role}@example.com")
                self.visit_as(page, role, todo)
                if role == "anonymous":  # the half-way page of a login with a second factor
                    self.log_in(page, "totp@example.com")
                    page.wait_for_url(f"{self.base}/login/second-factor")
                    self.checked["auth.second_factor_login"] = "totp@example.com"
                    self.check(page, "auth.second_factor_login")
            finally:
                context.close()
        print("\n".join(f"{endpoint}: {how}" for endpoint, how in sorted(self.checked.items())))
        assert set(todo) | {"error 403"} <= set(self.checked), "pages no visitor could open"

    def log_in(self, page, email: str) -> None:
        page.goto(f"{self.base}/login")  # by the fields' ids: the labels are in the page's language
        page.locator("#email").fill(email)
        page.locator("#password").fill(PASSWORD)
        page.locator("form.card button[type=submit]").click()
        page.wait_for_load_state()

    def visit_as(self, page, role: str, todo: dict[str, str]) -> None:
        """Open every page not checked yet; check those this visitor may see."""
        for endpoint, path in sorted(todo.items()):
            if endpoint in self.checked:
                continue
            response = page.goto(f"{self.base}{path}")
            landed = page.url.removeprefix(self.base)
            if response.status == 403 and "error 403" not in self.checked:
                self.checked["error 403"] = f"{role}: {path}"  # the refusal page is a page too
                self.check(page, "error 403", phone=False)
            if response.status in (401, 403) or (landed.startswith("/login") and endpoint != "auth.login"):
                continue  # not this visitor's page
            self.checked[endpoint] = f"{role}: {response.status} {landed}"
            self.check(page, endpoint)


def test_axe_finds_no_serious_violation_on_any_page(browser, live_server, app, seeded):
    def inspect(page, key, phone):
        found = axe_violations(page) + (layout_on_a_phone(page) if phone else [])
        return found + (the_phone_menu_works_from_the_keyboard(page) if key == "space.preferences" else [])

    sweep = Sweep(browser, live_server, "en", inspect)
    sweep.run(pages(app, seeded))
    assert sweep.failures == {}, "\n".join(f"{key}: {found}" for key, found in sweep.failures.items())


@pytest.mark.parametrize("locale", ["fr", "nl"])
def test_in_french_and_dutch_the_header_holds_and_a_sample_passes_axe(browser, live_server, app, session, seeded,
                                                                     locale):
    """Longer words: the header on one row at 1280 px, and axe at 360 px, on a sample of pages.

    Every page's words are checked, over HTTP, by tests/test_every_page_translated.py.
    """
    session.execute(update(Account).values(locale=locale))  # logged-in pages follow the account's language
    session.commit()

    def inspect(page, key, phone):
        found = [] if page.locator("html").get_attribute("lang") == locale else ["the page is not in " + locale]
        found += header_on_a_desktop(page)
        return found + (layout_on_a_phone(page, axe=True) if key in AXE_SAMPLE else [])

    sample = {key: path for key, path in pages(app, seeded).items() if key in AXE_SAMPLE | HEADER_SAMPLE}
    sweep = Sweep(browser, live_server, locale, inspect)
    sweep.run(sample)
    assert sweep.failures == {}, "\n".join(f"{key}: {found}" for key, found in sweep.failures.items())
