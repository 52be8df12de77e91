"""After a rotation of the checkpoint key, what the center publishes still verifies every checkpoint
it signed; and ``flask receipt verify`` checks a download's log part as the standalone verifier does.

Checkpoints are opened with test_transparency_log's own reading of C2SP
signed notes, never with the module that signed them.
"""
import copy
import json

import pytest

from .test_receipt_log import included, run_verifier, served, tampered_path, well_known  # noqa: F401
from .test_transparency_log import change, checkpoint, ledger, open_checkpoint  # noqa: F401


def rotate(runner):
    result = runner.invoke(args=["ledger", "rotate-checkpoint-key"])
    assert result.exit_code == 0 and "checkpoints are now signed with key" in result.output, result.output


def opens_with(note, keys):
    """The one line of ``keys`` (a published list) whose key opens ``note``; fails unless exactly one."""
    opened = []
    for key in keys.splitlines():
        try:
            opened.append((key, open_checkpoint(note, key)))
        except AssertionError:
            continue
    assert len(opened) == 1, (note, keys)
    return opened[0][0]


def test_a_checkpoint_signed_before_a_rotation_verifies_with_the_published_keys(
        runner, client, session, ledger, tmp_path):  # noqa: F811
    checkpoint(runner, "--force")
    old_note, old_key = well_known(client, "checkpoint"), well_known(client, "key")
    assert well_known(client, "keys") == old_key  # one key: the list is the key
    rotate(runner)
    change(session, "d@example.com", {"newsletter": "granted"}, "2026-02-05 10:00:00")
    checkpoint(runner, "--force")
    new_note, new_key = well_known(client, "checkpoint"), well_known(client, "key")
    keys = client.get("/.well-known/consent-log/keys")
    assert keys.mimetype == "text/plain" and keys.headers["Access-Control-Allow-Origin"] == "*"
    published = keys.get_data(as_text=True)
    # /key stays one key, the active one; /keys holds it first, then the retired one.
    assert new_key != old_key and published == new_key + old_key
    assert opens_with(old_note, published) == old_key.strip()
    assert opens_with(new_note, published) == new_key.strip()
    with pytest.raises(AssertionError):
        open_checkpoint(old_note, new_key)  # the active key alone no longer opens it

    held, keys_file, key_file = tmp_path / "old.txt", tmp_path / "keys.txt", tmp_path / "key.txt"
    held.write_text(old_note)
    keys_file.write_text(published)
    key_file.write_text(new_key)
    result = runner.invoke(args=["ledger", "verify", "--checkpoint", str(held), "--key", str(keys_file)])
    assert result.exit_code == 0 and f"extends checkpoint {held}" in result.output, result.output
    result = runner.invoke(args=["ledger", "verify", "--checkpoint", str(held), "--key", str(key_file)])
    assert result.exit_code == 1 and "no signature by a known key" in result.output, result.output
    # The export keeps every key beside the notes, so each exported note verifies from the folder alone.
    exported = tmp_path / "export"
    assert runner.invoke(args=["ledger", "checkpoints", "--export", str(exported)]).exit_code == 0
    assert (exported / "verifier-key.txt").read_text() == published
    result = runner.invoke(args=["ledger", "verify", "--checkpoint", str(exported),
                                 "--key", str(exported / "verifier-key.txt")])
    assert result.exit_code == 0 and result.output.count("log: OK (the log of") == 2, result.output


def cli_verify(runner, tmp_path, served, download, *args):  # noqa: F811
    path = tmp_path / f"receipt-{served.receipt_id}.json"
    path.write_text(json.dumps(download))
    return runner.invoke(args=["receipt", "verify", str(path), *args])


def test_the_server_cli_checks_the_log_part_with_the_public_keys_alone(
        runner, client, served, included, tmp_path, capsys):  # noqa: F811
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
