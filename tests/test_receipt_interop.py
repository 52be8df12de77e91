"""Receipts a third party verifies: any JOSE library (alg EdDSA, RFC 8037), and our verifier without our secrets.

Every receipt here is what a customer downloads from the space, and every
key what anyone fetches from /.well-known/jwks.json. Each library is told
one thing, the algorithm to expect (EdDSA), as a careful verifier is.
"""
import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
from joserfc import jws as joserfc_jws
from joserfc.errors import BadSignatureError, SecurityWarning
from joserfc.jwk import KeySet, OKPKey
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws
from sqlalchemy import select

from consent_center.models import Receipt
from consent_center.receipts.algorithms import REGISTRY
from consent_center.receipts.keys import key_ring
from consent_center.receipts.verification import ReceiptInvalid, verify_receipt
from consent_center.receipts.verify import main as verify_main

from .conftest import form_post

ROOT = Path(__file__).resolve().parent.parent
DOWNLOAD_LINK = re.compile(r'href="/space/receipts/([A-Za-z0-9-]+)\.json"')


@dataclass
class Served:
    receipt_id: str
    download: str  # the JSON file the space serves
    jwks: dict

    @property
    def token(self) -> str:
        return json.loads(self.download)["jws"]

    @property
    def document(self) -> dict:
        return json.loads(self.download)["document"]


def served_receipt(client) -> Served:
    """The newest receipt on the customer's receipts page, and the JWKS, both over HTTP."""
    page = client.get("/space/receipts").get_data(as_text=True)
    receipt_id = DOWNLOAD_LINK.search(page).group(1)
    download = client.get(f"/space/receipts/{receipt_id}.json")
    assert download.status_code == 200
    jwks = client.get("/.well-known/jwks.json")
    assert jwks.status_code == 200
    return Served(receipt_id, download.get_data(as_text=True), jwks.get_json())


@pytest.fixture
def served(client, auth, customer):
    auth.login(customer.email)
    form_post(client, "/space/preferences", {"active": ["email", "post", "newsletter"]})
    return served_receipt(client)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def tampered(token: str) -> str:
    """The same header and signature over a payload that says the newsletter was refused."""
    header, payload, signature = token.split(".")
    document = json.loads(decoded(payload))
    for service in document["services"]:
        service["status"] = "withdrawn"
    return f"{header}.{b64url(json.dumps(document).encode())}.{signature}"


def decoded(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def header_of(token: str) -> dict:
    return json.loads(decoded(token.split(".")[0]))


def test_receipts_are_signed_eddsa_and_the_jwks_says_so(served):
    assert header_of(served.token)["alg"] == "EdDSA"
    assert json.loads(served.download)["alg"] == "EdDSA"
    (key,) = served.jwks["keys"]
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert key["kid"] == header_of(served.token)["kid"]


def test_pyjwt_verifies_a_served_receipt_and_refuses_a_tampered_one(served):
    keys = jwt.PyJWKSet.from_dict(served.jwks)
    key = keys[header_of(served.token)["kid"]]
    claims = jwt.decode(served.token, key, algorithms=["EdDSA"], options={"require": ["iss", "iat", "jti"]})
    assert claims == served.document and claims["jti"] == served.receipt_id
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(tampered(served.token), key, algorithms=["EdDSA"])


def test_jwcrypto_verifies_a_served_receipt_and_refuses_a_tampered_one(served):
    keys = jwcrypto_jwk.JWKSet.from_json(json.dumps(served.jwks))
    key = keys.get_key(header_of(served.token)["kid"])
    signed = jwcrypto_jws.JWS()
    signed.deserialize(served.token)
    signed.verify(key, alg="EdDSA")
    assert json.loads(signed.payload) == served.document
    forged = jwcrypto_jws.JWS()
    forged.deserialize(tampered(served.token))
    with pytest.raises(jwcrypto_jws.InvalidJWSSignature):
        forged.verify(key, alg="EdDSA")


def test_joserfc_verifies_a_served_receipt_and_refuses_a_tampered_one(served):
    keys = KeySet.import_key_set(served.jwks)
    with warnings.catch_warnings():
        # joserfc verifies EdDSA when asked to, with a notice that RFC 9864
        # prefers the name "Ed25519" (which PyJWT does not know).
        warnings.simplefilter("ignore", SecurityWarning)
        signed = joserfc_jws.deserialize_compact(served.token, keys, algorithms=["EdDSA"])
        assert json.loads(signed.payload) == served.document
        with pytest.raises(BadSignatureError):
            joserfc_jws.deserialize_compact(tampered(served.token), keys, algorithms=["EdDSA"])


NODE_VERIFY = """
import { compactVerify, importJWK } from 'jose';
let input = '';
for await (const chunk of process.stdin) input += chunk;
const { token, jwks } = JSON.parse(input);
const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'));
const jwk = jwks.keys.find((key) => key.kid === header.kid);
try {
  const { payload } = await compactVerify(token, await importJWK(jwk, 'EdDSA'), { algorithms: ['EdDSA'] });
  process.stdout.write(new TextDecoder().decode(payload));
} catch (error) {
  process.stdout.write(`REFUSED ${error.code}`);
  process.exitCode = 1;
}
"""


def node_jose(token: str, jwks: dict) -> subprocess.CompletedProcess:
    # Run from the project folder, where `npm ci` puts node_modules/jose.
    return subprocess.run(["node", "--input-type=module", "-e", NODE_VERIFY], check=False, cwd=ROOT, text=True,
                          input=json.dumps({"token": token, "jwks": jwks}), capture_output=True, timeout=60)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed: the npm jose check cannot run")
@pytest.mark.skipif(not (ROOT / "node_modules" / "jose" / "package.json").exists(),
                    reason="the npm package jose is not installed (make test runs npm ci)")
def test_npm_jose_verifies_a_served_receipt_and_refuses_a_tampered_one(served):
    verified = node_jose(served.token, served.jwks)
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout) == served.document
    refused = node_jose(tampered(served.token), served.jwks)
    assert refused.returncode == 1 and refused.stdout == "REFUSED ERR_JWS_SIGNATURE_VERIFICATION_FAILED"


# Receipts signed before EdDSA ----------------------------------------------------

def sign_as_before(document: str) -> str:
    """A receipt as the center signed them before: header alg "Ed25519" (RFC 9864's name)."""
    key = key_ring().active
    return joserfc_jws.serialize_compact({"alg": "Ed25519", "kid": key.kid, "typ": "JWT"}, document, key,
                                         algorithms=["Ed25519"])


@pytest.fixture
def served_before_eddsa(client, auth, customer, session):
    """The customer's receipt as a row signed before the change to EdDSA holds it."""
    auth.login(customer.email)
    receipt = session.scalars(select(Receipt).order_by(Receipt.id.desc())).first()
    receipt.jws = sign_as_before(receipt.document)
    session.commit()
    return served_receipt(client)


def test_a_receipt_signed_before_eddsa_still_verifies_with_the_published_keys(served_before_eddsa, tmp_path):
    assert header_of(served_before_eddsa.token)["alg"] == "Ed25519"
    assert json.loads(served_before_eddsa.download)["alg"] == "Ed25519"  # the download says what signed it
    result = verify_here(tmp_path, served_before_eddsa)
    assert result.returncode == 0, result.stderr
    assert f"OK: receipt {served_before_eddsa.receipt_id}" in result.stdout


def test_a_receipt_signed_before_eddsa_shows_its_algorithm_on_its_page(served_before_eddsa, client):
    page = client.get(f"/space/receipts/{served_before_eddsa.receipt_id}").get_data(as_text=True)
    assert re.search(r"Ed25519\s*·", page) and "EdDSA ·" not in page


@pytest.mark.parametrize("alg", ["none", "HS256", "ES256", "Ed448", "eddsa"])
def test_no_other_algorithm_verifies_in_the_standalone_verifier(served, tmp_path, alg):
    _, payload, signature = served.token.split(".")
    forged = {**json.loads(served.download),
              "jws": f"{b64url(json.dumps({**header_of(served.token), 'alg': alg}).encode())}.{payload}.{signature}"}
    result = verify_here(tmp_path, served, download=json.dumps(forged))
    assert result.returncode == 1 and "INVALID" in result.stderr and "algorithm" in result.stderr


# Verifying without the server ------------------------------------------------------

def customer_folder(tmp_path: Path, served: Served, download: str | None, jwks: dict | None) -> Path:
    """A folder of the customer's own, holding only the receipt download and the public keys."""
    folder = tmp_path / "customer"
    folder.mkdir(exist_ok=True)
    (folder / f"receipt-{served.receipt_id}.json").write_text(download or served.download)
    (folder / "jwks.json").write_text(json.dumps(jwks or served.jwks))
    return folder


def standalone_verify(tmp_path: Path, served: Served, *, download: str | None = None, jwks: dict | None = None):
    """Run `python -m consent_center.receipts.verify` as a customer would: no settings, no app, no database.

    The environment names nothing of the server (no CONSENT_* variable, so no
    secret key); PYTHONPATH only points at this checkout's code. It runs in
    a folder of its own, holding only the two files.
    """
    folder = customer_folder(tmp_path, served, download, jwks)
    environment = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "consent_center.receipts.verify",
                           f"receipt-{served.receipt_id}.json", "--jwks", "jwks.json"],
                          check=False, cwd=folder, env=environment, text=True, capture_output=True, timeout=60)


def verify_here(tmp_path: Path, served: Served, *, download: str | None = None, jwks: dict | None = None):
    """The standalone verifier's ``main``, in this process (a second Python costs seconds): its verdicts."""
    folder = customer_folder(tmp_path, served, download, jwks)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = verify_main([str(folder / f"receipt-{served.receipt_id}.json"), "--jwks", str(folder / "jwks.json")])
    return subprocess.CompletedProcess([], code, out.getvalue(), err.getvalue())


def test_the_standalone_verifier_needs_no_secret_key_and_refuses_a_tampered_receipt(served, tmp_path):
    result = standalone_verify(tmp_path, served)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"OK: receipt {served.receipt_id}")
    # Nothing written where it ran: no key made, no database, no instance folder.
    assert sorted(p.name for p in (tmp_path / "customer").iterdir()) == ["jwks.json", f"receipt-{served.receipt_id}.json"]
    forged = {**json.loads(served.download), "jws": tampered(served.token)}
    forged["document"] = json.loads(decoded(forged["jws"].split(".")[1]))
    result = verify_here(tmp_path, served, download=json.dumps(forged))
    assert result.returncode == 1 and result.stderr.startswith("INVALID: the signature does not verify")


def test_the_standalone_verifier_refuses_a_jwks_without_the_receipts_key(served, tmp_path):
    other = {"keys": [{**served.jwks["keys"][0], "x": b64url(bytes(32))}]}  # same kid, another key
    result = verify_here(tmp_path, served, jwks=other)
    assert result.returncode == 1 and "INVALID" in result.stderr


def test_the_standalone_verifier_needs_a_jwks(served, tmp_path, capsys):
    (tmp_path / "receipt.json").write_text(served.download)
    with pytest.raises(SystemExit) as exited:
        verify_main([str(tmp_path / "receipt.json")])
    assert exited.value.code == 2 and "--jwks" in capsys.readouterr().err

def test_the_receipt_page_tells_how_to_verify_without_us(served, client):
    page = client.get(f"/space/receipts/{served.receipt_id}", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert "python -m consent_center.receipts.verify" in html and "EdDSA" in html
    assert "/.well-known/jwks.json" in html



def test_an_eddsa_signature_by_an_ed448_key_is_refused_even_when_handed_that_key(served):
    """EdDSA names Ed448 too (why RFC 9864 deprecated the name): only Ed25519 keys sign receipts."""
    ed448 = OKPKey.generate_key("Ed448", parameters={"kid": header_of(served.token)["kid"]})
    payload = served.token.split(".")[1]
    token = joserfc_jws.serialize_compact(header_of(served.token), decoded(payload), ed448, registry=REGISTRY)
    with pytest.raises(ReceiptInvalid, match="Ed25519"):
        verify_receipt(token, {ed448.kid: ed448})


def test_a_download_naming_another_algorithm_than_its_signature_is_refused(served, tmp_path):
    forged = {**json.loads(served.download), "alg": "Ed25519"}
    result = verify_here(tmp_path, served, download=json.dumps(forged))
    assert result.returncode == 1 and "algorithm" in result.stderr
