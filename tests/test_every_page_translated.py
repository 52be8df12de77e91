"""Every page in French and Dutch: in the page's language, with no English left untranslated.

The pages come from ``app.url_map`` (``tests/browser/sweep_data.py``), each
opened, over HTTP, by the first kind of visitor who may see it. The text
checked is what a person or a screen reader gets: the text of the page
outside scripts and styles, and the labels in attributes (``alt``,
``title``, ``aria-label``, ``placeholder``). What a browser shows of these
pages in French and Dutch (the header on one row, axe on a sample) is
``tests/browser/test_every_page.py``'s.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import update

from consent_center.models import Account

from .browser.sweep_data import ROLES, pages, seed
from .conftest import form_post

ROOT = Path(__file__).resolve().parent.parent
SPOKEN_ATTRIBUTES = {"alt", "title", "aria-label", "placeholder"}


def english_leftovers(locale: str) -> set[str]:
    """English source strings the locale translates, long enough not to be names or codes
    (no placeholders, no markup)."""
    catalog = ROOT / "consent_center" / "translations" / locale / "LC_MESSAGES" / "messages.po"
    with catalog.open("rb") as handle:
        messages = read_po(handle)
    return {m.id for m in messages if isinstance(m.id, str) and m.id and len(m.id) >= 12
            and "%" not in m.id and "<" not in m.id and m.id != m.string}


class SpokenText(HTMLParser):
    """The page's language and the text it gives a reader."""

    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "html":
            self.lang = attributes.get("lang")
        if tag in ("script", "style"):
            self._skipping += 1
        self.parts.extend(value for name, value in attrs if name in SPOKEN_ATTRIBUTES and value)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skipping:
            self._skipping -= 1

    def handle_data(self, data):
        if not self._skipping:
            self.parts.append(data)

    @classmethod
    def of(cls, html: str) -> SpokenText:
        parser = cls()
        parser.feed(html)
        return parser

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.parts))


def test_the_leftover_check_sees_english():
    english = english_leftovers("fr")
    assert {"Save my choices", "This page does not exist."} <= english & english_leftovers("nl")
    assert "Consent Center" not in english
    page = SpokenText.of('<html lang="fr"><script>var s = "Save my choices"</script>'
                         '<button aria-label="This page does not exist.">x</button></html>')
    assert page.lang == "fr" and "Save my choices" not in page.text
    assert "This page does not exist." in page.text
    words = as_words(english)
    assert untranslated('<html lang="fr"><p>Enregistrer. Save my choices!</p></html>', "fr", words) == [
        "English: 'Save my choices'"]
    assert untranslated('<html lang="en"><p>Save my choicesX</p></html>', "fr", words) == [
        "the page is in 'en', not fr"]


def as_words(english: set[str]) -> list[tuple[str, re.Pattern]]:
    """Each leftover as a pattern of whole words, compiled once (hundreds, more than re's cache holds)."""
    return [(s, re.compile(r"(?<!\w)" + re.escape(s) + r"(?!\w)")) for s in sorted(english)]


def untranslated(html: str, locale: str, english: list[tuple[str, re.Pattern]]) -> list[str]:
    page = SpokenText.of(html)
    text = page.text
    found = [] if page.lang == locale else [f"the page is in {page.lang!r}, not {locale}"]
    return found + [f"English: {s!r}" for s, words in english if words.search(text)]


@pytest.mark.database_independent
@pytest.mark.parametrize("locale", ["fr", "nl"])
def test_every_page_in_french_and_dutch_is_translated(app, session, locale):
    todo = pages(app, seed(session))
    session.execute(update(Account).values(locale=locale))  # logged-in pages follow the account's language
    session.commit()
    english = as_words(english_leftovers(locale))
    checked: dict[str, str] = {}
    failures: dict[str, list[str]] = {}

    def check(key: str, html: str) -> None:
        found = untranslated(html, locale, english)
        if found:
            failures[key] = found

    for role in ROLES:
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = locale  # what an anonymous visitor's browser asks for
        if role != "anonymous":
            email = "camille@example.com" if role == "customer" else f"{role}@example.com"
            assert form_post(client, "/login", {"email": email, "password": "correct horse battery"}).status_code == 302
        for endpoint, path in sorted(todo.items()):
            if endpoint in checked:
                continue
            response = client.get(path, follow_redirects=True)
            landed = response.request.path
            if response.status_code == 403 and "error 403" not in checked:
                checked["error 403"] = f"{role}: {path}"  # the refusal page is a page too
                check("error 403", response.get_data(as_text=True))
            if response.status_code in (401, 403) or (landed.startswith("/login") and endpoint != "auth.login"):
                continue  # not this visitor's page
            checked[endpoint] = f"{role}: {response.status_code} {landed}"
            check(endpoint, response.get_data(as_text=True))
        if role == "anonymous":  # the half-way page of a login with a second factor
            second = form_post(client, "/login", {"email": "totp@example.com", "password": "correct horse battery"},
                               follow_redirects=True)
            assert second.request.path == "/login/second-factor"
            checked["auth.second_factor_login"] = "totp@example.com"
            check("auth.second_factor_login", second.get_data(as_text=True))

    assert set(todo) | {"error 403"} <= set(checked), f"pages no visitor could open: {set(todo) - set(checked)}"
    assert failures == {}, "\n".join(f"{key}: {found}" for key, found in failures.items())
