"""/verify: a page that checks a receipt in the person's browser (tests/browser/test_verify_page.py runs it).

Here, what the server gives: a public page that works as a plain page
(what it does, the command-line alternative), a script from our own
origin, and no form that could send the file anywhere.
"""
import json
import re

import pytest

from consent_center.web.security import CONTENT_SECURITY_POLICY

HEADINGS = {"en": "Check a receipt", "fr": "Vérifier un reçu", "nl": "Een bewijs controleren"}


@pytest.mark.parametrize("locale", ["en", "fr", "nl"])
def test_the_verify_page_is_public_and_translated(client, locale):
    response = client.get("/verify", headers={"Accept-Language": locale})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<html lang="{locale}">' in html and f"<h1>{HEADINGS[locale]}</h1>" in html
    messages = json.loads(re.search(r'<script type="application/json" id="verify-messages">(.*?)</script>',
                                    html, re.DOTALL).group(1))
    assert messages["no_ed25519"] and "{size}" in messages["cp_mismatch"]


def test_without_javascript_the_page_says_what_it_does_and_how_to_check_elsewhere(client):
    html = client.get("/verify", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "The file never leaves your browser" in html
    assert "<noscript>" in html and "JavaScript is off" in html
    assert ("python -m consent_center.receipts.verify receipt.json --jwks http://localhost/.well-known/jwks.json "
            "--log-key http://localhost/.well-known/consent-log/keys") in html
    # The form shows only when the script runs, and names no field: it cannot send the file.
    assert '<form id="verify-form" class="card" action="#" hidden>' in html
    assert " name=" not in html.split('id="verify-form"')[1].split("</form>")[0]


def test_the_script_is_a_static_file_of_our_origin_and_no_script_runs_inline(client):
    html = client.get("/verify").get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts == [' type="application/json" id="verify-messages"', ' src="/static/verify.js" defer']
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    with client.get("/static/verify.js") as script:
        assert script.status_code == 200
        body = script.get_data(as_text=True)
    for used in ("FileReader", "/.well-known/jwks.json", "/.well-known/consent-log/checkpoint",
                 "/.well-known/consent-log/key", 'crypto.subtle.verify("Ed25519"', 'crypto.subtle.digest("SHA-256"'):
        assert used in body
    assert "method" not in body and "XMLHttpRequest" not in body and "sendBeacon" not in body


def test_the_receipt_pages_point_to_the_verify_page(client, auth, customer):
    auth.login(customer.email)
    assert 'href="/verify"' in client.get("/space/receipts", headers={"Accept-Language": "en"}).get_data(as_text=True)
