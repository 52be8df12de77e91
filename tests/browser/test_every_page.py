"""axe-core over every page of the app, reached as the visitor who may open it.

Each page is also narrowed to a 360-pixel phone: nothing may scroll sideways.

The pages come from ``app.url_map``: a new page is checked without anyone
adding it here, and a page this test cannot reach fails it until someone
says why (SKIPPED). One browser context per kind of visitor keeps it quick.
Every page in French and Dutch is also checked for English left untranslated.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from babel.messages.pofile import read_po
from flask import url_for
from sqlalchemy import update

from consent_center import tokens
from consent_center.accounts.service import create_account
from consent_center.rights.requests import file_request
from consent_center.ledger import Actor, record_change
from consent_center.models import Account, Role, Source
from consent_center.unsubscribe.newsletter import sign_up
from consent_center.policies.service import publish_policy
from consent_center.tokens import email_change_token
from consent_center.accounts.second_factor import new_secret
from consent_center.subjects.service import create_subject

from ..conftest import PASSWORD
from .conftest import ROOT, VIEWPORTS, axe_violations, shoot

# GET routes that are not pages a person reads, or that this sweep cannot reach, and why.
SKIPPED = {
    "static": "files", "branding.brand_css": "a stylesheet", "jwks.jwks": "JSON",
    "health.healthz": "probe", "health.readyz": "probe",
    "consent_log.checkpoint": "plain text", "consent_log.key": "plain text", "consent_log.keys": "plain text",
    "audit.download_checkpoint": "a file download (tests/test_witnesses.py)",
    "audit.download_verifier_key": "a file download (tests/test_witnesses.py)",
    "audit.export_events": "a file download (test_staff_journeys downloads it)",
    "audit.export_inbound_messages": "a file download (tests/test_inbound_hooks.py)",
    "space.my_data_csv": "a file download", "space.my_data_json": "a file download",
    "space.receipt_download": "a file download (test_customer_journey downloads it)",
    "space.reconsent": "shown only when a material version is due (axe runs on it in test_staff_journeys)",
}
DESKTOP, PHONE = VIEWPORTS["desktop"], VIEWPORTS["phone"]
ROLES = ["anonymous", "customer", "support", "auditor", "admin"]
QUERIES = {"audit.search": "?q=camille", "admin.people": "?q=camille", "privacy.diff": "?from=v1&to=v2"}
# Pages axe also checks in French and Dutch (words change length; the rest is the same markup).
AXE_SAMPLE = {"auth.login", "public.subscribe", "unsubscribe.page", "space.preferences", "space.history",
              "space.receipts_list", "audit.export_form", "admin.policies", "error 403"}


@pytest.fixture
def seeded(app, session):
    """One of everything a page can show, and the URL values that name them."""
    publish_policy(session, "v1", {"fr": "Politique un.", "nl": "Beleid een.", "en": "Policy one."},
                   effective_at=datetime(2018, 11, 26, tzinfo=timezone.utc))
    publish_policy(session, "v2", {"fr": "Politique deux.", "nl": "Beleid twee.", "en": "Policy two."},
                   effective_at=datetime(2024, 1, 1, tzinfo=timezone.utc), material=False)
    customer = create_account(session, email="camille@example.com", password=PASSWORD, role=Role.CUSTOMER,
                              actor=Actor.system(), name="Camille Martin", locale="en")
    subject = customer.subject
    record_change(session, subject, {"email": "granted", "sms": "granted"}, source=Source.CUSTOMER_SPACE,
                  actor=Actor.system())
    receipt = record_change(session, subject, {"sms": "withdrawn"}, source=Source.CUSTOMER_SPACE,
                            actor=Actor.system()).receipt
    request = file_request(session, subject, "access")
    for role in (Role.SUPPORT, Role.AUDITOR, Role.ADMIN):
        create_account(session, email=f"{role}@example.com", password=PASSWORD, role=role,
                       actor=Actor.system(), name=f"{role} member", locale="en")
    invited = create_account(session, email="new@example.com", password=None, role=Role.SUPPORT,
                             actor=Actor.system(), locale="en")
    guarded = create_account(session, email="totp@example.com", password=PASSWORD, role=Role.ADMIN,
                             actor=Actor.system(), locale="en")
    guarded.totp_secret = new_secret()
    prospect = create_subject(session, actor=Actor.system(), email="zoe@example.com", locale="en")
    signup = sign_up(session, email="yann@example.com", name=None, locale="en", policy_label="v2", trace={})
    session.commit()
    values = {
        "public_id": {"admin.person": subject.public_id, "audit.subject": subject.public_id,
                      "space.receipt": receipt.public_id, "space.request_detail": request.public_id,
                      "requests_desk.detail": request.public_id},
        "label": {"privacy.version": "v1"},
        "token": {
            "auth.accept_invitation": tokens.account_token("invitation", invited),
            "auth.reset_password": tokens.account_token("password_reset", customer),
            "public.manage_preferences": tokens.subject_token("manage_link", prospect.public_id,
                                                              "zoe@example.com"),
            "public.confirm_signup": tokens.sign("double_opt_in", {"p": signup.public_id}),
            "space.confirm_email": email_change_token(subject.public_id, "camille.new@example.com",
                                                "camille@example.com"),
            "unsubscribe.page": tokens.unsubscribe_token(subject.public_id, "email"),
        },
    }
    session.rollback()
    return values


def pages(app, values) -> dict[str, str]:
    """endpoint -> path of every GET page to check."""
    found = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in SKIPPED or rule.endpoint.startswith("api."):
            continue
        args = {arg: values[arg][rule.endpoint] for arg in rule.arguments}
        with app.test_request_context():
            found[rule.endpoint] = url_for(rule.endpoint, **args) + QUERIES.get(rule.endpoint, "")
    return found


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


def overflow_on_a_phone(page) -> list[str]:
    """Whether the page, narrowed to a 360-pixel phone, scrolls sideways (wide tables scroll in their box)."""
    page.set_viewport_size(PHONE)
    try:
        wide = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        culprits = page.evaluate(WIDEST) if wide > 0 else []
    finally:
        page.set_viewport_size(DESKTOP)
    return [f"the page is {wide}px wider than a 360px phone: {culprits}"] if wide > 0 else []


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
        return axe_violations(page) + (overflow_on_a_phone(page) if phone else [])

    sweep = Sweep(browser, live_server, "en", inspect)
    sweep.run(pages(app, seeded))
    assert sweep.failures == {}, "\n".join(f"{key}: {found}" for key, found in sweep.failures.items())


def english_leftovers() -> set[str]:
    """English source strings long enough not to be names or codes (no placeholders, no markup)."""
    catalog = ROOT / "consent_center" / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
    with catalog.open("rb") as handle:
        messages = read_po(handle)
    return {m.id for m in messages if isinstance(m.id, str) and m.id and len(m.id) >= 12
            and "%" not in m.id and "<" not in m.id and m.id != m.string}


def test_the_leftover_check_sees_english():
    english = english_leftovers()
    assert {"Save my choices", "This page does not exist."} <= english
    assert "Consent Center" not in english


@pytest.mark.parametrize("locale", ["fr", "nl"])
def test_every_page_in_french_and_dutch_is_translated_and_a_sample_passes_axe(
        browser, live_server, app, session, seeded, locale):
    session.execute(update(Account).values(locale=locale))  # logged-in pages follow the account's language
    session.commit()
    english = english_leftovers()

    def inspect(page, key, phone):
        found = [] if page.locator("html").get_attribute("lang") == locale else ["the page is not in " + locale]
        text = page.locator("body").inner_text()
        found += [f"English: {s!r}" for s in sorted(english)
                  if re.search(r"(?<!\w)" + re.escape(s) + r"(?!\w)", text)]
        return found + (axe_violations(page) if key in AXE_SAMPLE else [])

    sweep = Sweep(browser, live_server, locale, inspect)
    sweep.run(pages(app, seeded))
    assert sweep.failures == {}, "\n".join(f"{key}: {found}" for key, found in sweep.failures.items())
