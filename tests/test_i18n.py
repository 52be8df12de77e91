"""Every page in fr, nl and en, and no untranslated string in any catalog."""
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from consent_center.models import Role

from .conftest import form_post

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "consent_center" / "translations"
LOCALES = ["fr", "nl", "en"]
EXPECTED = {
    "login": {"fr": "Connectez-vous à votre espace personnel", "nl": "Meld u aan bij uw persoonlijke ruimte",
              "en": "Log in to your personal space"},
    "preferences": {"fr": "Comment pouvons-nous vous contacter\u202f?", "nl": "Hoe mogen wij contact met u opnemen?",
                    "en": "How may we contact you?"},
    "history": {"fr": "L'historique de mes consentements", "nl": "Geschiedenis van mijn toestemmingen",
                "en": "My consent history"},
    "404": {"fr": "Cette page n'existe pas.", "nl": "Deze pagina bestaat niet.", "en": "This page does not exist."},
    "channel": {"fr": "E-mail commercial", "nl": "Commerciële e-mail", "en": "Commercial e-mail"},
}


@pytest.mark.parametrize("locale", LOCALES)
def test_public_pages_follow_accept_language(client, locale):
    headers = {"Accept-Language": f"{locale};q=0.9, de;q=0.5"}
    login = client.get("/login", headers=headers).get_data(as_text=True)
    assert f'<html lang="{locale}">' in login
    assert EXPECTED["login"][locale] in login
    missing = client.get("/nowhere", headers=headers)
    assert missing.status_code == 404
    assert EXPECTED["404"][locale] in missing.get_data(as_text=True)


def test_default_locale_without_accept_language(client):
    assert '<html lang="fr">' in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize("locale", LOCALES)
def test_customer_pages_follow_the_account_language(client, auth, make_account, locale):
    make_account("client@example.com", locale=locale)
    auth.login("client@example.com")
    for page, key in (("/space/preferences", "preferences"), ("/space/history", "history")):
        html = client.get(page, headers={"Accept-Language": "de"}).get_data(as_text=True)
        assert f'<html lang="{locale}">' in html
        assert EXPECTED[key][locale] in html
    assert EXPECTED["channel"][locale] in client.get("/space/preferences").get_data(as_text=True)


def test_language_switch_changes_the_account_language(client, auth, make_account, session):
    make_account("client@example.com", locale="fr")
    auth.login("client@example.com")
    response = form_post(client, "/space/preferences", {"locale": "nl", "next": "/space/history"},
                         action="/language")
    assert response.location == "/space/history"
    assert '<html lang="nl">' in client.get("/space/history").get_data(as_text=True)


def test_language_switch_refuses_an_unknown_language(client):
    assert form_post(client, "/login", {"locale": "de"}, action="/language").status_code == 400


def test_staff_page_renders_in_every_language(client, auth, make_account):
    make_account("admin@example.com", role=Role.ADMIN, locale="nl")
    auth.login("admin@example.com")
    assert "Welkom" in client.get("/staff").get_data(as_text=True)


def extracted_msgids(tmp_path: Path) -> set[str]:
    # pybabel's "-o -" writes a file named "-", not standard output.
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [str(Path(sys.executable).parent / "pybabel"), "extract", "-F", "babel.cfg", "-k", "_l",
         "-k", "lazy_gettext", "--omit-header", "-o", str(pot), "."],
        cwd=ROOT, capture_output=True, text=True, check=True)
    with pot.open("rb") as f:
        messages = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    assert messages, "nothing extracted"
    return messages


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_translates_every_string_and_is_compiled(locale, tmp_path):
    po_path = CATALOGS / locale / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as f:
        catalog = read_po(f, locale=locale)
    untranslated = [m.id for m in catalog if m.id and (not m.string or m.fuzzy
                    or (isinstance(m.string, tuple) and not all(m.string)))]
    assert untranslated == []
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    assert extracted_msgids(tmp_path) - ids == set(), "run scripts/i18n.sh"
    with (CATALOGS / locale / "LC_MESSAGES" / "messages.mo").open("rb") as f:
        compiled = read_mo(f)
    # Plural messages come back from the .mo as lists: compare them as tuples.
    same = lambda m: tuple(m) if isinstance(m, (list, tuple)) else m  # noqa: E731
    assert {same(m.id): same(m.string) for m in compiled if m.id} == \
        {same(m.id): same(m.string) for m in catalog if m.id}, \
        "messages.mo is stale: run scripts/i18n.sh"
