"""Every receipt download carries its events' place in the transparency log, once a signed checkpoint
covers them: log indexes and RFC 9162 inclusion proofs, and the checkpoint they lead to.

Proofs are checked with test_merkle's verifier written from the RFC and
checkpoints with test_transparency_log's reading of C2SP signed notes;
then with the standalone verifier (``--log-key``), which must refuse any
changed path, checkpoint or event.
"""
import base64
import copy
import json

import pytest

from consent_center.receipts import verify as standalone

from .conftest import form_post
from .test_merkle import rfc_verify_inclusion
from .test_receipt_interop import served_receipt
from .log_fixtures import checkpoint, open_checkpoint, well_known


@pytest.fixture
def served(client, auth, customer):
    """A customer's newest receipt (a change of two channels) as the space serves it."""
    auth.login(customer.email)
    form_post(client, "/space/preferences", {"active": ["email", "post", "newsletter"]})
    return served_receipt(client)


def test_before_a_checkpoint_the_download_and_the_api_say_pending(client, served, api):
    assert json.loads(served.download)["log"] == {"status": "pending"}
    assert api.get(f"/receipts/{served.receipt_id}").json["log"] == {"status": "pending"}
    page = client.get(f"/space/receipts/{served.receipt_id}", headers={"Accept-Language": "en"})
    assert "Not in the transparency log yet" in page.get_data(as_text=True)


def test_after_a_checkpoint_every_event_has_a_proof_that_verifies_against_the_signed_root(
        runner, client, served, api):
    checkpoint(runner, "--force")
    download = client.get(f"/space/receipts/{served.receipt_id}.json").get_json()
    note, key = well_known(client, "checkpoint"), well_known(client, "key")
    origin, size, root = open_checkpoint(note, key)
    log = download["log"]
    assert log["status"] == "included"
    assert (log["log_id"], log["tree_size"], log["checkpoint"]) == (origin, size, note)
    assert base64.b64decode(log["root_hash"]) == root
    named = {e["id"]: e["hash"] for e in download["document"]["events"]}
    assert len(named) == 2 and {e["event"]: e["event_hash"] for e in log["entries"]} == named
    for entry in log["entries"]:
        path = [base64.b64decode(h) for h in entry["inclusion_path"]]
        assert rfc_verify_inclusion(entry["leaf_index"], size, bytes.fromhex(entry["event_hash"]), path, root)
    assert api.get(f"/receipts/{served.receipt_id}").json["log"] == log
    page = client.get(f"/space/receipts/{served.receipt_id}", headers={"Accept-Language": "en"})
    assert f"In the transparency log: covered by the signed checkpoint of {size} events" in \
        page.get_data(as_text=True)


def test_a_receipt_issued_after_the_checkpoint_is_pending_until_the_next(runner, client, served):
    checkpoint(runner, "--force")
    form_post(client, "/space/preferences", {"active": ["email"]})
    newer = served_receipt(client)
    assert newer.receipt_id != served.receipt_id
    assert json.loads(newer.download)["log"] == {"status": "pending"}
    checkpoint(runner, "--force")
    assert client.get(f"/space/receipts/{newer.receipt_id}.json").get_json()["log"]["status"] == "included"


# --- the standalone verifier ------------------------------------------------------------------

def run_verifier(tmp_path, served, download, capsys, log_key=None):
    """``python -m consent_center.receipts.verify`` in this process (test_receipt_interop runs it bare)."""
    receipt = tmp_path / f"receipt-{served.receipt_id}.json"
    receipt.write_text(json.dumps(download))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(served.jwks))
    status = standalone.main([str(receipt), "--jwks", str(jwks), *(["--log-key", log_key] if log_key else [])])
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.fixture
def included(runner, client, served):
    checkpoint(runner, "--force")
    return (client.get(f"/space/receipts/{served.receipt_id}.json").get_json(),
            well_known(client, "key").strip())


def test_the_verifier_checks_the_log_part_with_the_log_key(tmp_path, served, included, capsys):
    download, key = included
    status, out, err = run_verifier(tmp_path, served, download, capsys, key)
    assert status == 0, err
    assert out.startswith(f"OK: receipt {served.receipt_id}")
    assert "Log: included: every event of the receipt is in log localhost/consent-log" in out
    key_file = tmp_path / "log.key"
    key_file.write_text(key + "\n")
    assert run_verifier(tmp_path, served, download, capsys, str(key_file))[0] == 0
    status, out, _ = run_verifier(tmp_path, served, download, capsys)
    assert status == 0 and "Log: not checked: give the log's verifier keys with --log-key" in out


def test_the_verifier_says_a_pending_download_is_pending(tmp_path, client, served, capsys):
    key = well_known(client, "key").strip()
    status, out, _ = run_verifier(tmp_path, served, json.loads(served.download), capsys, key)
    assert status == 0 and "Log: pending" in out and "Download the receipt again after the next checkpoint" in out


def tampered_path(download):
    forged = copy.deepcopy(download)
    path = forged["log"]["entries"][0]["inclusion_path"]
    path[0] = base64.b64encode(bytes(32)).decode()
    return forged


def tampered_checkpoint_root(download):
    forged = copy.deepcopy(download)
    text, signature = forged["log"]["checkpoint"].split("\n\n")
    origin, size, _ = text.split("\n")
    fake_root = base64.b64encode(bytes(32)).decode()
    forged["log"]["checkpoint"] = f"{origin}\n{size}\n{fake_root}\n\n{signature}"
    forged["log"]["root_hash"] = fake_root
    return forged


def another_event(download):
    forged = copy.deepcopy(download)
    forged["log"]["entries"][0]["event_hash"] = "ab" * 32
    return forged


def one_entry_dropped(download):
    forged = copy.deepcopy(download)
    forged["log"]["entries"].pop()
    return forged


def another_size(download):
    forged = copy.deepcopy(download)
    forged["log"]["tree_size"] += 1
    return forged


def one_entry_twice(download):
    forged = copy.deepcopy(download)
    forged["log"]["entries"][1] = forged["log"]["entries"][0]
    return forged


def index_as_text(download):
    forged = copy.deepcopy(download)
    forged["log"]["entries"][0]["leaf_index"] = str(forged["log"]["entries"][0]["leaf_index"])
    return forged


@pytest.mark.parametrize("forge, why", [
    (one_entry_twice, "it proves 1 of the 2 events the receipt names"),
    (index_as_text, "is outside the checkpoint's tree"),
    (tampered_path, "the inclusion proof does not lead to the checkpoint's root"),
    (tampered_checkpoint_root, "the checkpoint does not verify with the log key"),
    (another_event, "is not an event the signed receipt names"),
    (one_entry_dropped, "it proves 1 of the 2 events the receipt names"),
    (another_size, "the checkpoint is of"),
])
def test_the_verifier_refuses_a_changed_log_part(tmp_path, served, included, capsys, forge, why):
    download, key = included
    status, _, err = run_verifier(tmp_path, served, forge(download), capsys, key)
    assert status == 1 and err.startswith("INVALID: the log part: ") and why in err, err


def test_the_verifier_refuses_a_checkpoint_signed_by_another_key(tmp_path, served, included, capsys):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from consent_center.ledger.signed_note import Verifier
    download, _ = included
    stranger = Verifier("localhost/consent-log", Ed25519PrivateKey.generate().public_key()).encode()
    status, _, err = run_verifier(tmp_path, served, download, capsys, stranger)
    assert status == 1 and "no signature by a known key" in err


def test_the_verifier_needs_a_readable_log_key(tmp_path, served, included, capsys):
    download, _ = included
    status, _, err = run_verifier(tmp_path, served, download, capsys, "not+a+key")
    assert status == 2 and "cannot read the log key" in err


# --- flask receipt verify: the same checks on the server, with the published keys ---------------

def rotate(runner):
    result = runner.invoke(args=["ledger", "rotate-checkpoint-key"])
    assert result.exit_code == 0 and "checkpoints are now signed with key" in result.output, result.output


def cli_verify(runner, tmp_path, served, download, *args):
    path = tmp_path / f"receipt-{served.receipt_id}.json"
    path.write_text(json.dumps(download))
    return runner.invoke(args=["receipt", "verify", str(path), *args])


def test_the_server_cli_checks_the_log_part_with_the_public_keys_alone(
        runner, client, served, included, tmp_path, capsys):
    download, _ = included
    result = cli_verify(runner, tmp_path, served, download)
    assert result.exit_code == 0, result.output
    assert f"OK: receipt {served.receipt_id}" in result.output
    assert "Log: included: every event of the receipt is in log localhost/consent-log" in result.output
    # A download saved before its events were integrated: the signature holds, the log says so plainly.
    result = cli_verify(runner, tmp_path, served, json.loads(served.download))
    assert result.exit_code == 0 and "Log: pending: the receipt's events are not yet integrated" in result.output
    # A proof changed by a byte: refused, as the standalone verifier refuses it.
    result = cli_verify(runner, tmp_path, served, tampered_path(download))
    assert result.exit_code == 1, result.output
    assert "INVALID: the log part: entry" in result.output and "does not lead to the checkpoint's root" in \
        result.output
    forged = copy.deepcopy(download)
    forged["log"]["checkpoint"] = forged["log"]["checkpoint"].replace("\n\n", "\nforged\n\n", 1)
    assert cli_verify(runner, tmp_path, served, forged).exit_code == 1

    # The checkpoint key rotated: the download's checkpoint was signed by the retired key.
    rotate(runner)
    assert cli_verify(runner, tmp_path, served, download).exit_code == 0
    keys, key = tmp_path / "keys.txt", tmp_path / "key.txt"
    keys.write_text(well_known(client, "keys"))
    key.write_text(well_known(client, "key"))
    result = cli_verify(runner, tmp_path, served, download, "--log-key", str(keys))
    assert result.exit_code == 0 and "Log: included" in result.output, result.output
    result = cli_verify(runner, tmp_path, served, download, "--log-key", str(key))
    assert result.exit_code == 1 and "no signature by a known key" in result.output, result.output
    status, out, err = run_verifier(tmp_path, served, download, capsys, str(keys))
    assert status == 0 and "Log: included" in out, err
