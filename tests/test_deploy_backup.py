"""Backups as docs/deploy.md says (issue 24, item 5): deploy/backup.sh, deploy/restore.sh into a
fresh place, then `ledger verify` on the restored copy.

On the suite's backend: SQLite's online backup API, or pg_dump and
pg_restore into an empty PostgreSQL database. The copy verifies only with
the signing keys restored beside it: without them `ledger verify` fails
and names the receipts and the checkpoint it can no longer check.
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from consent_center import create_app
from consent_center.extensions import db
from consent_center.ledger import Actor, record_change
from consent_center.ledger.checkpoints import make_checkpoint
from consent_center.models import Source
from consent_center.subjects.service import create_subject

from .dbs import backend_url, is_pg
from .deploy_files import DEPLOY


def script(name: str, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(DEPLOY / name), *args], env=env, capture_output=True, text=True, timeout=120)


def settings(database_url: str, instance: Path, backups: Path) -> dict:
    """The environment the scripts get from /etc/consent-center/env, for this test's places."""
    base = {name: value for name, value in os.environ.items() if not name.startswith("CONSENT_")}
    return base | {"CONSENT_DATABASE_URL": database_url, "CONSENT_INSTANCE_PATH": str(instance),
                   "CONSENT_BACKUP_DIR": str(backups), "CONSENT_BACKUP_KEEP": "2", "CONSENT_PYTHON": sys.executable}


def app_on(database_url: str, instance: Path):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url})
    app.instance_path = str(instance)
    return app


def make_history(database_url: str, instance: Path) -> None:
    """Two people, a few changes (each with its signed receipt), a signed checkpoint, a proof on disk."""
    app = app_on(database_url, instance)
    with app.app_context():
        session = db.session
        for email in ("ann@example.com", "bob@example.com"):
            subject = create_subject(session, actor=Actor.system(), email=email, is_customer=True)
            for status in ("granted", "withdrawn", "granted"):
                record_change(session, subject, {"newsletter": status, "sms": status}, source=Source.API,
                              actor=Actor.system())
        session.commit()  # the log integrates committed events only
        assert make_checkpoint(session, force=True)[1] is not None
        session.commit()
        session.remove()
    db.dispose()
    (instance / "proofs").mkdir()
    (instance / "proofs" / "a-proof").write_bytes(b"%PDF- a signed form")


def ledger_verify(database_url: str, instance: Path):
    app = app_on(database_url, instance)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["ledger", "verify"])
        db.session.remove()
    db.dispose()
    return result


@pytest.fixture
def restore_target(databases, tmp_path):
    """An empty database of the suite's backend to restore into."""
    if not is_pg(backend_url()):
        yield f"sqlite:///{tmp_path / 'restored' / 'consent_center.sqlite3'}"
        return
    # Named as the suite's copies, so that the suite drops it with them (a drop waits for a checkpoint).
    name = f"{databases.template}_restore_{uuid.uuid4().hex[:10]}"
    with databases.admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = databases._url(name)
    yield url
    db.dispose()
    databases.drop(url)


def test_a_restored_backup_verifies_and_only_with_its_keys(database_url, restore_target, tmp_path):
    instance, backups, restored = tmp_path / "instance", tmp_path / "backups", tmp_path / "restored"
    instance.mkdir()
    make_history(database_url, instance)

    made = script("backup.sh", settings(database_url, instance, backups))
    assert made.returncode == 0, made.stderr
    backup = Path(made.stdout.strip())
    assert backup.parent == backups and not list(backups.glob("*.partial"))
    held = {path.relative_to(backup).parts[0] for path in backup.rglob("*") if path.is_file()}
    dump = "database.pgdump" if is_pg(database_url) else "database.sqlite3"
    assert held == {dump, "receipt_keys", "checkpoint_keys", "proofs", "SHA256SUMS"}

    done = script("restore.sh", settings(restore_target, restored, backups), str(backup))
    assert done.returncode == 0, done.stderr
    assert (restored / "proofs" / "a-proof").read_bytes() == b"%PDF- a signed form"
    result = ledger_verify(restore_target, restored)
    assert result.exit_code == 0, result.output
    assert "OK: 20 events in 2 chains verified" in result.output
    assert "receipts: OK" in result.output
    assert "log: OK (20 " in result.output  # checked against the restored checkpoint key

    # Restoring again over what is there is refused before anything changes.
    again = script("restore.sh", settings(restore_target, restored, backups), str(backup))
    assert again.returncode == 1 and "move it aside first" in again.stderr

    # The same database beside no keys (the key folders were not restored): it does not verify, and says why.
    without_keys = ledger_verify(restore_target, tmp_path / "keys-lost")
    assert without_keys.exit_code == 1
    assert "receipts: BROKEN (2 found)" in without_keys.output, without_keys.output
    assert "no published key has the kid" in without_keys.output
    assert "log: BROKEN" in without_keys.output and "does not verify with the checkpoint keys" in without_keys.output


def test_a_damaged_backup_is_refused_and_old_backups_are_pruned(database_url, tmp_path):
    instance, backups = tmp_path / "instance", tmp_path / "backups"
    instance.mkdir()
    for old in ("20250101T031000Z", "20250102T031000Z", "20250103T031000Z"):
        (backups / old).mkdir(parents=True)
    made = script("backup.sh", settings(database_url, instance, backups))
    assert made.returncode == 0, made.stderr
    backup = Path(made.stdout.strip())
    # Only the newest CONSENT_BACKUP_KEEP (2) stay.
    assert sorted(p.name for p in backups.iterdir()) == ["20250103T031000Z", backup.name]
    (dump,) = backup.glob("database.*")
    with dump.open("ab") as damaged:
        damaged.write(b"\0")
    target = settings(f"sqlite:///{tmp_path / 'r' / 'db.sqlite3'}", tmp_path / "r", backups)
    refused = script("restore.sh", target, str(backup))
    assert refused.returncode == 1 and "does not match its checksum" in refused.stderr
    assert not (tmp_path / "r").exists()
