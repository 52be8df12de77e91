"""The layout's helpers through the Flask client: labelled table cells, each language's
typography, the site icon, the logo setting and the namespace document of the export."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from markupsafe import Markup

from consent_center import create_app
from consent_center.export.namespace import MEANINGS, our_terms
from consent_center.ledger import Actor, record_change
from consent_center.models import Source
from consent_center.web.icons import LOGO_POLICY
from consent_center.web.tables import labelled_cells
from consent_center.web.typography import NARROW_NBSP as N
from consent_center.web.typography import colon, french_spacing

ROOT = Path(__file__).resolve().parents[1]


def test_cells_are_labelled_by_their_column_header():
    html = ('<p>x</p><table><caption>c</caption><thead><tr><th scope="col">When</th><th>Chan&amp;nel</th>'
            '<th colspan="2">"From" <em>and</em> to</th><th></th></tr></thead>'
            '<tbody><tr><th scope="row">SMS</th><td>sms</td><td>a</td><td class="x">b</td><td>act</td></tr>'
            '<tr><td colspan="4">nothing yet</td><td data-label="kept">k</td></tr></tbody></table>'
            '<table><tr><td>no head</td></tr></table>')
    out = labelled_cells(Markup(html))
    assert isinstance(out, Markup)
    # The row's own header is the card's title; a header spanning two columns labels both.
    assert '<th scope="row">SMS</th><td data-label="Chan&amp;nel">sms</td>' in out
    label = 'data-label="&#34;From&#34; and to"'
    assert f'<td {label}>a</td><td class="x" {label}>b</td>' in out
    assert "<td>act</td>" in out  # an empty header labels nothing
    assert '<td colspan="4">nothing yet</td><td data-label="kept">k</td>' in out
    assert "<td>no head</td>" in out and '<th scope="col">When</th>' in out
    assert labelled_cells("<p>no table</p>") == "<p>no table</p>"


def test_french_puts_a_narrow_no_break_space_before_high_punctuation():
    assert french_spacing("État : actif ; « oui » ? non !") == f"État{N}: actif{N}; «{N}oui{N}»{N}? non{N}!"
    untouched = f"https://x.example, 10:30, déjà{N}: bon"
    assert french_spacing(untouched) == untouched
    assert colon("SMS", "fr") == f"SMS{N}:" and colon("SMS", "nl") == "SMS:" and colon("SMS", "en") == "SMS:"
    assert colon(Markup("<b>E</b>"), "fr") == Markup(f"<b>E</b>{N}:")
    assert colon("<b>", "fr") == f"<b>{N}:"  # plain text stays text: the template escapes it


def test_the_french_catalog_follows_french_typography():
    with (ROOT / "consent_center/translations/fr/LC_MESSAGES/messages.po").open("rb") as handle:
        catalog = read_po(handle)
    wrong = []
    for message in catalog:
        texts = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in texts if message.id else ():
            # A space that may break, or no space at all (URLs and HH:MM aside: no space there either).
            if text and (french_spacing(text) != text or re.search(r"\w[;!?»](?=\s|$)|«\w", text)):
                wrong.append(text)
    assert wrong == [], "scripts/i18n.sh sets these spaces: " + repr(wrong[:5])


def test_pages_carry_the_menu_the_icons_and_french_spaces(client, auth, make_account, session):
    account = make_account("lea@example.com", locale="fr")
    record_change(session, account.subject, {"sms": "granted"}, source=Source.CUSTOMER_SPACE, actor=Actor.system())
    session.commit()
    with client.get("/favicon.ico") as icon:
        assert icon.status_code == 200 and icon.data[:4] == b"\x00\x00\x01\x00"
        assert icon.mimetype == "image/vnd.microsoft.icon" and icon.cache_control.max_age > 0
    with client.get("/static/favicon.svg") as svg:
        assert svg.mimetype == "image/svg+xml"
    login = client.get("/login").get_data(as_text=True)
    assert 'rel="icon" href="/static/favicon.svg" type="image/svg+xml"' in login and 'href="/favicon.ico"' in login
    assert '<details class="menu">' not in login  # nothing to navigate to before logging in
    assert '<img class="logo"' not in login and client.get("/brand/logo").status_code == 404

    auth.login("lea@example.com")
    page = client.get("/space/preferences").get_data(as_text=True)
    assert '<details class="menu">' in page and page.count('aria-current="page"') == 1
    assert f"État{N}:" in page and "État :" not in page
    assert 'class="switch-state" aria-hidden="true"><span class="on">Actif</span><span class="off">Inactif</span>' in page
    receipts = client.get("/space/receipts").get_data(as_text=True)
    assert re.search(f"<li>[^<:]+{N}: ", receipts), "a label joined in the template"
    history = client.get("/space/history").get_data(as_text=True)
    assert re.search(r'<td data-label="Canal">', history), "cells labelled for the phone's cards"


def test_a_logo_is_served_from_this_origin_and_a_bad_one_refused(database_url, tmp_path):
    svg = tmp_path / "logo.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><rect width="4" height="4"/></svg>')
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "LOGO": str(svg)})
    client = app.test_client()
    url = re.search(r'<img class="logo" src="([^"]+)" alt=""', client.get("/login").get_data(as_text=True)).group(1)
    assert url.startswith("/brand/logo?v=")
    logo = client.get(url)
    assert logo.status_code == 200 and logo.mimetype == "image/svg+xml" and logo.data == svg.read_bytes()
    assert logo.headers["Content-Security-Policy"] == LOGO_POLICY and "immutable" in logo.headers["Cache-Control"]
    assert client.get(url, headers={"If-None-Match": logo.headers["ETag"]}).status_code == 304
    (tmp_path / "logo.html").write_text("<script>alert(1)</script>")
    (tmp_path / "big.png").write_bytes(b"\x89PNG" + b"0" * 600_000)
    for setting, said in [("nowhere.png", "not a file"), (str(tmp_path / "logo.html"), "must be an image"),
                          (str(tmp_path / "big.png"), "bytes"), (str(tmp_path), "must be an image")]:
        with pytest.raises(RuntimeError, match=said):
            create_app({"TESTING": True, "DATABASE_URL": database_url, "LOGO": setting})


def test_the_namespace_document_describes_every_term_of_the_export(client, app):
    assert set(our_terms()) == set(MEANINGS), "a term of the JSON-LD export without a meaning, or the reverse"
    ns = app.config["BASE_URL"] + "/ns/consent#"
    page = client.get("/ns/consent", headers={"Accept": "text/html,*/*;q=0.8"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html" and "Accept" in page.vary
    assert all(f'<tr id="{term}">' in html for term in MEANINGS) and ns in html
    assert '<script type="application/ld+json">' in html
    data = client.get("/ns/consent", headers={"Accept": "application/ld+json"})
    assert data.mimetype == "application/ld+json"
    document = data.get_json(force=True)
    assert document["@context"]["cc"] == ns
    described = {node["@id"]: node["rdfs:comment"]["@value"] for node in document["@graph"] if "rdfs:comment" in node}
    assert described == {f"cc:{term}": meaning for term, meaning in MEANINGS.items()}
    assert client.get("/ns/consent", headers={"Accept": "application/json"}).mimetype == "application/ld+json"
