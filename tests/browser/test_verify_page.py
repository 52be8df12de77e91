"""/verify in Chromium: the browser checks a real receipt, refuses a tampered one, says a proof does not
match a stale checkpoint, explains itself where Ed25519 is missing, and sends nothing but GETs of
public files.
"""
import json
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consent_center.ledger.signed_note import sign_note

expect = pytest.importorskip("playwright.sync_api").expect

from ..conftest import form_post
from ..log_fixtures import signed_note as checkpoint
from ..test_receipt_interop import served_receipt

DESKTOP = pytest.mark.parametrize("viewport", ["desktop"])  # one viewport: test_every_page covers the phone


@pytest.fixture
def receipt(live_server, client, auth, customer, session):
    """A customer's receipt, as the space serves it (through the test client, on the live server's app)."""
    auth.login(customer.email)
    form_post(client, "/space/preferences", {"active": ["email", "post", "newsletter"]})
    served = served_receipt(client)
    session.rollback()  # SQLite: no read transaction left open while the server runs
    return served


def download(client, served):
    return client.get(f"/space/receipts/{served.receipt_id}.json").get_data(as_text=True)


def recorded_requests(page):
    seen = []
    page.on("request", lambda r: seen.append((r.method, r.url, r.post_data)))
    return seen


def check_file(page, tmp_path, text, pasted=None):
    path = tmp_path / "receipt.json"
    path.write_text(text)
    page.get_by_label("Receipt file").set_input_files(str(path))
    page.get_by_label("A checkpoint you kept").fill(pasted or "")
    page.get_by_role("button", name="Check in my browser").click()
    result = page.locator("#verify-result")
    # The script says "Checking…" as the click submits, then the outcome.
    expect(result).not_to_contain_text("Checking…")
    result.locator("p").first.wait_for()
    return result.inner_text()


@DESKTOP
def test_a_real_receipt_verifies_and_a_tampered_one_is_refused_with_nothing_sent(
        live_server, new_page, runner, client, receipt, check_page, tmp_path):
    checkpoint(runner)
    real = download(client, receipt)
    page = new_page()
    requests = recorded_requests(page)
    page.goto(f"{live_server}/verify")
    said = check_file(page, tmp_path, real)
    assert f"Receipt {receipt.receipt_id}" in said and "is genuine" in said, said
    assert "The signature is valid" in said
    assert re.search(r"Its 2 change\(s\) are in the transparency log \S+/consent-log", said), said
    assert "It matches the checkpoint we publish now" in said
    check_page(page, "verify")

    data = json.loads(real)
    header, payload, signature = data["jws"].split(".")
    middle = len(payload) // 2
    payload = payload[:middle] + ("B" if payload[middle] != "B" else "C") + payload[middle + 1:]
    said = check_file(page, tmp_path, json.dumps({**data, "jws": f"{header}.{payload}.{signature}"}))
    assert "This receipt is not genuine." in said and "the signature does not verify" in said, said

    # Nothing but GETs of the page, its static files and the public keys and checkpoint.
    public = re.compile(re.escape(live_server) + r"/(verify|favicon\.ico|brand\.css|static/.+|\.well-known/"
                        r"(jwks\.json|consent-log/checkpoint|consent-log/keys))(\?.*)?$")
    assert all(method == "GET" and body is None and public.match(url) for method, url, body in requests), requests
    assert any(url.endswith("/.well-known/jwks.json") for _, url, _ in requests)


@DESKTOP
def test_a_proof_against_a_stale_pasted_checkpoint_does_not_match(
        live_server, new_page, runner, client, receipt, tmp_path):
    stale = checkpoint(runner)
    form_post(client, "/space/preferences", {"active": ["email"]})  # the log grows
    checkpoint(runner)
    page = new_page()
    page.goto(f"{live_server}/verify")
    current = download(client, receipt)  # its proofs are against the newer checkpoint
    said = check_file(page, tmp_path, current, pasted=stale)
    assert "is genuine" in said and "are in the transparency log" in said  # the receipt holds ...
    assert "Does not match this checkpoint" in said and "/api/v1/log/consistency?from=" in said, said
    # ... and against the checkpoint of its own size, it matches.
    said = check_file(page, tmp_path, current,
                      pasted=client.get("/.well-known/consent-log/checkpoint").get_data(as_text=True))
    assert "It matches the checkpoint you pasted" in said, said
    # A changed inclusion path is refused.
    data = json.loads(current)
    data["log"]["entries"][0]["inclusion_path"][0] = "A" * 43 + "="
    said = check_file(page, tmp_path, json.dumps(data))
    assert "Refused: the inclusion proof of event" in said, said
    # After a checkpoint key rotation, the retired key is still published (/keys): a receipt whose
    # checkpoint it signed still checks here, beside a newer checkpoint signed by the new key.
    assert runner.invoke(args=["ledger", "rotate-checkpoint-key"]).exit_code == 0
    form_post(client, "/space/preferences", {"active": ["post"]})
    checkpoint(runner)
    said = check_file(page, tmp_path, current)
    assert "is genuine" in said and "are in the transparency log" in said, said
    # A checkpoint signed by a key the log does not publish: not checked here, and said so.
    text = data["log"]["checkpoint"].split("\n\n")[0] + "\n"
    data = json.loads(current)
    data["log"]["checkpoint"] = sign_note(text, text.split("\n")[0], Ed25519PrivateKey.generate())
    said = check_file(page, tmp_path, json.dumps(data))
    assert "is genuine" in said and "signed by none of the keys the log publishes" in said, said


@DESKTOP
def test_a_browser_without_ed25519_gets_a_plain_explanation(live_server, new_page):
    page = new_page()
    page.add_init_script("crypto.subtle.importKey = () => { throw new DOMException('no', 'NotSupportedError'); };")
    page.goto(f"{live_server}/verify")
    result = page.locator("#verify-result")
    result.locator("p").wait_for()
    assert "Your browser cannot check Ed25519 signatures" in result.inner_text()
    assert page.locator("#verify-form").is_hidden()  # nothing to fill in that could not be checked
    quiet = new_page(javascript=False)
    quiet.goto(f"{live_server}/verify")
    assert quiet.locator("#verify-form").is_hidden()
    assert "JavaScript is off" in quiet.locator("main").inner_text()
