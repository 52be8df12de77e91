"""/api/v1/docs: the API reference, from the app's own OpenAPI document and a vendored Swagger UI.

The page keeps the site's Content-Security-Policy and names no other origin;
Swagger UI's files come from static/vendor/swagger-ui/ at a versioned,
immutable URL; without JavaScript the page lists every operation; the copy
is the version package-lock.json pins. Chromium runs it in
tests/browser/test_api_reference.py.
"""
from __future__ import annotations

import importlib.util
import json
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from consent_center.api.routes.reference import HTTP_METHODS

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("vendor_swagger_ui", ROOT / "scripts" / "vendor_swagger_ui.py")
vendor_swagger_ui = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(vendor_swagger_ui)

DOCS = "/api/v1/docs"


class Page(HTMLParser):
    """What the tests read of the page: URLs in attributes, scripts, the no-script rows."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[dict] = []
        self.styles: list[str] = []
        self.inline_styles = 0
        self.rows: list[list[str]] = []
        self._in_noscript = self._in_row = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.urls += [attrs[name] for name in ("href", "src", "action", "data-spec-url") if name in attrs]
        self.inline_styles += "style" in attrs
        if tag == "script":
            self.scripts.append(attrs)
        elif tag == "style":
            self.styles.append(tag)
        elif tag == "noscript":
            self._in_noscript = True
        elif tag == "tr" and self._in_noscript:
            self._in_row = True
            self.rows.append([])
        elif tag == "td" and self._in_row:
            self.rows[-1].append("")

    def handle_endtag(self, tag):
        if tag == "noscript":
            self._in_noscript = False
        elif tag == "tr":
            self._in_row = False

    def handle_data(self, data):
        if self._in_row and self.rows[-1]:
            self.rows[-1][-1] += data.strip()

    @property
    def operations(self) -> list[list[str]]:
        return [row for row in self.rows if row]  # the header rows have no <td>


def test_the_reference_is_public_keeps_the_sites_policy_and_names_no_other_origin(client):
    response = client.get(DOCS)
    assert response.status_code == 200 and response.mimetype == "text/html"
    page_policy = client.get("/privacy", follow_redirects=True).headers["Content-Security-Policy"]
    assert response.headers["Content-Security-Policy"] == page_policy
    assert "unsafe" not in page_policy and "script-src 'self';" in page_policy
    html = response.get_data(as_text=True)
    page = Page(html)
    assert not re.search(r"https?:|//", " ".join(page.urls)), page.urls
    assert "http://" not in html and "https://" not in html
    # No inline script or style: every script is a file of this site, the spec's URL is data.
    assert all(script.get("src", "").startswith("/") for script in page.scripts), page.scripts
    assert page.styles == [] and page.inline_styles == 0
    assert [s["src"].rsplit("/", 1)[-1] for s in page.scripts] == ["swagger-ui-bundle.js", "api-reference.js"]
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    # The API keeps no session: no form here that would need one (the language, logging out).
    assert "csrf_token" not in html and "Set-Cookie" not in response.headers


def test_without_javascript_the_page_lists_every_operation_of_the_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    expected = [[method.upper(), "/api/v1" + path, operation["summary"]]
                for path, item in document["paths"].items()
                for method, operation in item.items() if method in HTTP_METHODS]
    page = Page(client.get(DOCS).get_data(as_text=True))
    assert sorted(page.operations) == sorted(expected) and len(expected) > 10
    assert ["GET", "/api/v1/check", document["paths"]["/check"]["get"]["summary"]] in page.operations
    assert "/api/v1/openapi.json" in page.urls


@pytest.mark.parametrize("locale, title, back", [("fr", "Référence de l'API", "Retour à l'accueil"),
                                                ("nl", "API-referentie", "Terug naar het begin")])
def test_the_page_speaks_the_browsers_language(client, locale, title, back):
    html = unescape(client.get(DOCS, headers={"Accept-Language": locale}).get_data(as_text=True))
    assert f'<html lang="{locale}">' in html
    assert f"<h1>{title}</h1>" in html and f">{back}</a>" in html
    assert '<div id="swagger-ui" lang="en"' in html  # Swagger UI's own words are English: a reader must know


def test_swagger_ui_is_served_under_its_version_cached_for_a_year(client, app):
    page = Page(client.get(DOCS).get_data(as_text=True))
    folder = ROOT / "static" / "vendor" / "swagger-ui"
    version = vendor_swagger_ui.package_version(folder)
    files = [url for url in page.urls if "/swagger-ui/" in url]
    assert sorted(files) == [f"/api/v1/docs/swagger-ui/{version}/swagger-ui-bundle.js",
                             f"/api/v1/docs/swagger-ui/{version}/swagger-ui.css"]
    for url, mimetype in zip(sorted(files), ("text/javascript", "text/css")):
        with client.get(url) as response:
            assert response.status_code == 200 and response.mimetype == mimetype, (url, response.mimetype)
            assert response.get_data() == (folder / url.rsplit("/", 1)[-1]).read_bytes()
            cache = response.cache_control
            assert cache.public and cache.max_age == 365 * 24 * 3600 and cache.immutable, response.headers
            assert response.headers["X-Content-Type-Options"] == "nosniff"
        with client.get(url, headers={"If-None-Match": response.headers["ETag"]}) as again:
            assert again.status_code == 304
    # Another version is another URL (not served), and only the page's two files are.
    assert client.get("/api/v1/docs/swagger-ui/0.0.1/swagger-ui.css").status_code == 404
    assert client.get(f"/api/v1/docs/swagger-ui/{version}/package.json").status_code == 404
    assert client.get(f"/api/v1/docs/swagger-ui/{version}/..%2Fapi-reference.js").status_code == 404
    with client.get("/static/api-reference.js") as script:
        assert script.status_code == 200 and "SwaggerUIBundle" in script.get_data(as_text=True)


def test_the_vendored_swagger_ui_is_the_version_the_lock_pins():
    folder = vendor_swagger_ui.TARGET
    locked = vendor_swagger_ui.locked_version()
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["swagger-ui-dist"]
    assert pinned == locked, "package.json pins swagger-ui-dist exactly: the copy follows one version"
    assert vendor_swagger_ui.package_version(folder) == locked, "run `make vendor` and commit the copy"
    bundle = (folder / "swagger-ui-bundle.js").read_text(encoding="utf-8")
    assert re.findall(r'PACKAGE_VERSION:"([^"]+)"', bundle) == [locked], "the bundle is another version"
    assert sorted(p.name for p in folder.iterdir()) == sorted(vendor_swagger_ui.FILES)
    assert "Apache License" in (folder / "LICENSE").read_text(encoding="utf-8")


def test_the_vendored_copy_is_the_installed_package_byte_for_byte():
    installed = vendor_swagger_ui.SOURCE
    if not (installed / "package.json").is_file():
        pytest.skip("swagger-ui-dist is not installed (npm ci)")
    if vendor_swagger_ui.package_version(installed) != vendor_swagger_ui.locked_version():
        pytest.skip("node_modules is not the lock's version (npm ci)")
    assert vendor_swagger_ui.differences() == [], "run `make vendor`"


def test_an_unknown_api_address_points_to_the_document_and_to_this_page(client):
    response = client.get("/api/v1/no-such-endpoint")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert "/api/v1/openapi.json" in response.json["detail"] and DOCS in response.json["detail"]
