"""Signed receipts: Kantara fields, EdDSA (Ed25519) JWS, published keys, offline verification."""
import json
import os
import stat
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from freezegun import freeze_time
from joserfc.jwk import OKPKey

from consent_center import create_app
from consent_center.receipts import documents as receipts
from consent_center.ledger import Actor, record_change
from consent_center.models import Source, Status
from consent_center.policies.service import publish_policy
from consent_center.receipts.keys import KeyStore, ReceiptKeyError, key_ring, key_store
from consent_center.receipts.documents import ReceiptInvalid, verify_receipt
from consent_center.subjects.service import create_subject


@pytest.fixture
def change(session):
    """One recorded change of two channels under a published policy; returns the receipt."""
    publish_policy(session, "2018-11-26", {"fr": "Politique", "en": "Policy"},
                   effective_at=datetime(2018, 11, 26, tzinfo=timezone.utc))
    subject = create_subject(session, actor=Actor.system(), email="x@example.com", is_customer=True,
                             locale="fr")
    with freeze_time("2026-03-03 09:15:00"):
        recorded = record_change(session, subject, {"email": Status.WITHDRAWN, "newsletter": Status.GRANTED},
                                 source=Source.CUSTOMER_SPACE, actor=Actor("subject", subject.public_id))
    session.commit()
    return recorded.receipt


def download(receipt) -> str:
    return json.dumps(receipts.receipt_payload(receipt), indent=2)


def published_keys(app):
    with app.app_context():
        return dict(key_ring().public)


def test_every_receipt_is_a_compact_jws_of_its_document(app, change):
    header = change.jws.split(".")[0]
    assert receipts.jws_header(header) == {"alg": "EdDSA", "kid": key_ring().active_kid, "typ": "JWT"}
    verified = verify_receipt(change.jws, published_keys(app))
    assert verified.document == json.loads(change.document)
    assert change.language == "fr"


def test_the_kantara_fields_are_present_and_typed(change):
    doc = json.loads(change.document)
    expected_types = {
        "version": str, "jurisdiction": str, "consentTimestamp": int, "collectionMethod": str,
        "consentReceiptID": str, "language": str, "piiPrincipalId": str, "piiControllers": list,
        "policyUrl": str, "services": list, "sensitive": bool, "spiCat": list,
    }
    for field, kind in expected_types.items():
        assert isinstance(doc[field], kind), field
    assert doc["version"] == "KI-CR-v1.1.0"
    assert doc["consentTimestamp"] == int(datetime(2026, 3, 3, 9, 15, tzinfo=timezone.utc).timestamp())
    controller = doc["piiControllers"][0]
    for field, kind in {"piiController": str, "onBehalf": bool, "contact": str, "address": dict,
                        "email": str, "phone": str}.items():
        assert isinstance(controller[field], kind), field
    assert [s["channel"] for s in doc["services"]] == ["email", "newsletter"]
    for service in doc["services"]:
        assert isinstance(service["service"], str)
        purpose = service["purposes"][0]
        for field, kind in {"purpose": str, "purposeCategory": list, "consentType": str,
                            "piiCategory": list, "primaryPurpose": bool, "termination": str,
                            "thirdPartyDisclosure": bool}.items():
            assert isinstance(purpose[field], kind), field
    assert doc["policyUrl"] == "http://localhost/privacy/versions/2018-11-26"


def test_the_iso_27560_additions_name_basis_event_policy_text_and_ledger_hashes(session, change):
    from consent_center.models import ConsentEvent, PolicyText
    from sqlalchemy import select

    doc = json.loads(change.document)
    fr_text = session.scalars(select(PolicyText).where(PolicyText.locale == "fr")).one()
    assert doc["policyVersion"] == {"label": "2018-11-26", "effectiveAt": "2018-11-26T00:00:00.000000Z",
                                    "textLocale": "fr", "textHash": fr_text.sha256,
                                    "textHashAlgorithm": "SHA-256"}
    events = session.scalars(select(ConsentEvent).where(ConsentEvent.receipt_id == change.id)
                             .order_by(ConsentEvent.seq)).all()
    assert [(e["id"], e["hash"], e["prevHash"]) for e in doc["events"]] == [
        (e.public_id, e.hash, e.prev_hash) for e in events]
    email = doc["events"][0]
    assert (email["status"], email["previousStatus"], email["legalBasis"], email["eventType"],
            email["source"]) == ("withdrawn", "granted", "soft_opt_in", "withdrawn", "customer_space")
    assert doc["services"][1]["legalBasis"] == "consent" and doc["services"][1]["eventType"] == "given"


@pytest.mark.parametrize("texts, locale, named", [
    ({"fr": "Politique", "en": "Policy", "nl": "Beleid"}, "nl", "nl"),
    ({"fr": "Politique", "en": "Policy"}, "nl", "en"),  # no Dutch text: the English one
    ({"nl": "Beleid", "fr": "Politique"}, "en", "fr"),  # no English either: the first by locale
])
def test_a_receipt_names_the_text_the_policy_shows_in_its_language(session, texts, locale, named):
    """The ledger picks the text in SQL; it must be the one ``PolicyVersion.text`` picks."""
    publish_policy(session, "v1", {"en": "Old"}, effective_at=datetime(2020, 1, 1, tzinfo=timezone.utc))
    version = publish_policy(session, "v2", texts, effective_at=datetime(2021, 1, 1, tzinfo=timezone.utc))
    publish_policy(session, "v3", {"en": "Not yet"}, effective_at=datetime(2031, 1, 1, tzinfo=timezone.utc))
    subject = create_subject(session, actor=Actor.system(), email="x@example.com", locale=locale)
    with freeze_time("2026-03-03 09:15:00"):
        recorded = record_change(session, subject, {"newsletter": Status.GRANTED},
                                 source=Source.CUSTOMER_SPACE, actor=Actor("subject", subject.public_id))
    policy = json.loads(recorded.receipt.document)["policyVersion"]
    assert version.text(locale).locale == named
    assert (policy["label"], policy["textLocale"], policy["textHash"]) == ("v2", named, version.text(locale).sha256)
    assert recorded.events[0].policy_version is version and recorded.receipt.language == locale


def test_a_translation_published_later_is_named_by_the_next_receipt(session):
    publish_policy(session, "v1", {"en": "Policy"}, effective_at=datetime(2020, 1, 1, tzinfo=timezone.utc))
    subject = create_subject(session, actor=Actor.system(), email="x@example.com", locale="nl")
    session.commit()
    publish_policy(session, "v1", {"nl": "Beleid"})
    session.commit()
    recorded = record_change(session, subject, {"newsletter": Status.GRANTED},
                             source=Source.CUSTOMER_SPACE, actor=Actor("subject", subject.public_id))
    assert json.loads(recorded.receipt.document)["policyVersion"]["textLocale"] == "nl"


def test_a_receipt_fails_after_any_byte_of_its_signature_changes(app, change):
    keys = published_keys(app)
    token = change.jws
    assert verify_receipt(token, keys)
    for position in range(len(token)):
        replacement = "A" if token[position] != "A" else "B"
        tampered = token[:position] + replacement + token[position + 1:]
        with pytest.raises(ReceiptInvalid):
            verify_receipt(tampered, keys)


def test_a_download_fails_when_its_readable_document_is_edited(app, change):
    keys = published_keys(app)
    data = receipts.receipt_payload(change)
    data["document"]["services"][0]["status"] = "granted"
    with pytest.raises(ReceiptInvalid, match="differs"):
        verify_receipt(json.dumps(data), keys)


def test_a_receipt_signed_by_another_key_with_the_same_kid_fails(app, change):
    impostor = OKPKey.generate_key("Ed25519")
    with pytest.raises(ReceiptInvalid):
        verify_receipt(change.jws, {key_ring().active_kid: impostor})


@pytest.mark.parametrize("alg", ["none", "HS256", "ES256", "Ed448", "eddsa"])
def test_other_algorithms_are_refused(app, change, alg):
    import base64

    _, payload, signature = change.jws.split(".")
    header = receipts.jws_header(change.jws.split(".")[0]) | {"alg": alg}
    segment = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    for token in (f"{segment}.{payload}.", f"{segment}.{payload}.{signature}"):
        with pytest.raises(ReceiptInvalid):
            verify_receipt(token, published_keys(app))
    with pytest.raises(ReceiptInvalid, match="algorithm"):
        verify_receipt(f"{segment}.{payload}.{signature}", published_keys(app))


def test_a_receipt_signed_with_a_retired_key_still_verifies(app, runner, session, change):
    old_kid = key_ring().active_kid
    result = runner.invoke(args=["receipt", "rotate-key"])
    assert result.exit_code == 0, result.output
    ring = key_ring()
    assert ring.active_kid != old_kid and old_kid in ring.public
    subject = create_subject(session, actor=Actor.system(), email="y@example.com")
    newer = record_change(session, subject, {"sms": Status.GRANTED},
                          source=Source.API, actor=Actor.system()).receipt
    session.commit()
    assert receipts.key_id_of(newer) == ring.active_kid
    keys = published_keys(app)
    assert verify_receipt(change.jws, keys).kid == old_kid
    assert verify_receipt(newer.jws, keys).kid == ring.active_kid
    published = {k["kid"] for k in app.test_client().get("/.well-known/jwks.json").get_json()["keys"]}
    assert published == {old_kid, ring.active_kid}


def test_the_jwks_publishes_public_keys_only_and_is_cacheable(app, client, change):
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert "public" in response.headers["Cache-Control"] and response.headers["ETag"]
    (key,) = response.get_json()["keys"]
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519" and key["alg"] == "EdDSA"
    assert "d" not in key
    assert key["kid"] == OKPKey.import_key(key).thumbprint()
    again = client.get("/.well-known/jwks.json", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_the_signing_key_is_made_once_with_owner_only_permissions(app, change):
    path = Path(app.instance_path) / "receipt_keys" / "active.jwk"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["d"]


def test_the_key_is_loaded_once_per_process_not_per_receipt(app, session, change, monkeypatch):
    store = key_store()
    loads = []
    original = store._load
    monkeypatch.setattr(store, "_load", lambda: loads.append(1) or original())
    subject = create_subject(session, actor=Actor.system(), email="z@example.com")
    for status in ("granted", "withdrawn", "granted"):
        record_change(session, subject, {"sms": status}, source=Source.API, actor=Actor.system())
    assert loads == []


def test_a_worker_that_loses_the_race_to_create_the_key_uses_the_winners(tmp_path):
    settings = {"TESTING": True, "DATABASE_URL": "sqlite://", "RECEIPT_KEY_DIR": str(tmp_path)}
    first, second = KeyStore(create_app(settings)), KeyStore(create_app(settings))
    # Both saw no key file; the first links its key in, the second's link fails.
    first._create_active()
    second._create_active()
    assert first.ring().active_kid == second.ring().active_kid
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == ["active.jwk"]


WORKER = """
import sys, time
from pathlib import Path
from consent_center import create_app
from consent_center.receipts.keys import key_ring
folder, gate, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "RECEIPT_KEY_DIR": str(folder)})
(gate.parent / f"ready-{name}").touch()
while not gate.exists():
    time.sleep(0.001)
with app.app_context():
    print(key_ring().active_kid)
"""


def test_workers_starting_together_agree_on_one_key(tmp_path):
    folder, gate = tmp_path / "keys", tmp_path / "go"
    processes = [subprocess.Popen([sys.executable, "-c", WORKER, str(folder), str(gate), str(n)],
                                  stdout=subprocess.PIPE, text=True) for n in range(4)]
    try:
        for _ in range(600):
            if len(list(tmp_path.glob("ready-*"))) == len(processes):
                break
            time.sleep(0.05)
        gate.touch()  # all four ask for the key at once
        kids = {p.communicate(timeout=60)[0].strip() for p in processes}
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    assert len(kids) == 1 and "" not in kids
    assert [p.name for p in folder.iterdir() if not p.name.startswith(".")] == ["active.jwk"]


@pytest.mark.parametrize("form", ["jwk", "pem", "file"])
def test_a_configured_key_signs_and_the_instance_key_stays_published(tmp_path, database_url, form):
    key = OKPKey.generate_key("Ed25519")
    text = {"jwk": json.dumps(key.as_dict(private=True)),
            "pem": key.as_pem(private=True).decode()}.get(form)
    if form == "file":
        (tmp_path / "key.pem").write_bytes(key.as_pem(private=True))
        text = str(tmp_path / "key.pem")
    folder = tmp_path / "keys"
    first = create_app({"TESTING": True, "DATABASE_URL": database_url, "RECEIPT_KEY_DIR": str(folder)})
    with first.app_context():
        earlier = key_ring().active_kid  # made on first use
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "RECEIPT_KEY_DIR": str(folder),
                      "RECEIPT_SIGNING_KEY": text})
    with app.app_context():
        ring = key_ring()
        assert ring.active_kid == key.thumbprint()
        assert set(ring.public) == {key.thumbprint(), earlier}
        token = receipts.sign('{"a":1}')
        assert verify_receipt(token, dict(ring.public)).kid == key.thumbprint()
    from consent_center.extensions import db

    db.engine.dispose()


def test_a_bad_configured_key_stops_the_app_at_start(database_url):
    with pytest.raises(ReceiptKeyError):
        create_app({"TESTING": True, "DATABASE_URL": database_url, "RECEIPT_SIGNING_KEY": '{"kty": "oct"}'})
    public_only = json.dumps(OKPKey.generate_key("Ed25519").as_dict(private=False))
    with pytest.raises(ReceiptKeyError, match="private"):
        create_app({"TESTING": True, "DATABASE_URL": database_url, "RECEIPT_SIGNING_KEY": public_only})
    from consent_center.extensions import db

    db.engine.dispose()


def test_rotation_with_a_configured_key_keeps_it_published(tmp_path):
    key = OKPKey.generate_key("Ed25519")
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "RECEIPT_KEY_DIR": str(tmp_path),
                      "RECEIPT_SIGNING_KEY": key.as_pem(private=True).decode()})
    with app.app_context():
        old, new = key_store().rotate()
    assert old == key.thumbprint() and new == ""
    later = KeyStore(create_app({"TESTING": True, "DATABASE_URL": "sqlite://",
                                 "RECEIPT_KEY_DIR": str(tmp_path)}))
    assert key.thumbprint() in later.ring().public


# The command line ------------------------------------------------------------

def write_download(tmp_path, change) -> Path:
    path = tmp_path / "receipt.json"
    path.write_text(download(change))
    return path


def test_cli_verifies_a_download_against_the_apps_keys(runner, tmp_path, change):
    result = runner.invoke(args=["receipt", "verify", str(write_download(tmp_path, change))])
    assert result.exit_code == 0, result.output
    assert f"OK: receipt {change.public_id}" in result.output


def test_cli_verifies_against_a_jwks_file_and_refuses_a_tampered_receipt(runner, client, tmp_path, change):
    jwks = tmp_path / "jwks.json"
    jwks.write_text(client.get("/.well-known/jwks.json").get_data(as_text=True))
    path = write_download(tmp_path, change)
    result = runner.invoke(args=["receipt", "verify", str(path), "--jwks", str(jwks)])
    assert result.exit_code == 0, result.output
    data = json.loads(path.read_text())
    data["jws"] = data["jws"][:-3] + ("AAA" if not data["jws"].endswith("AAA") else "BBB")
    path.write_text(json.dumps(data))
    result = runner.invoke(args=["receipt", "verify", str(path), "--jwks", str(jwks)])
    assert result.exit_code == 1 and "INVALID" in result.output


def test_cli_refuses_a_receipt_when_the_jwks_lacks_its_key(runner, tmp_path, change):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"keys": [OKPKey.generate_key("Ed25519").as_dict(private=False)]}))
    result = runner.invoke(args=["receipt", "verify", str(write_download(tmp_path, change)),
                                 "--jwks", str(other)])
    assert result.exit_code == 1 and "no published key" in result.output


def test_cli_fetches_the_jwks_from_a_url(runner, client, tmp_path, change):
    body = client.get("/.well-known/jwks.json").get_data()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
        result = runner.invoke(args=["receipt", "verify", str(write_download(tmp_path, change)), "--jwks", url])
    finally:
        thread.join(timeout=10)
        server.server_close()
    assert result.exit_code == 0, result.output


def test_rotate_key_command_leaves_the_old_key_in_the_retired_folder(app, runner, change):
    old = key_ring().active_kid
    result = runner.invoke(args=["receipt", "rotate-key"])
    assert result.exit_code == 0, result.output
    retired = Path(app.instance_path) / "receipt_keys" / "retired" / f"{old}.jwk"
    assert retired.exists() and "d" not in json.loads(retired.read_text())
    assert os.path.exists(Path(app.instance_path) / "receipt_keys" / "active.jwk")
