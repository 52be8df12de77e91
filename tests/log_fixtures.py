"""What the transparency log's tests share: a small history of consent changes, signing a
checkpoint, the published files, an operator's reset of the log, and an independent reading of
C2SP signed notes (never the module that signed them).

Imported by name where needed (tests/test_transparency_log.py, test_witnesses.py,
test_tamper_matrix.py, test_receipt_log.py, test_held_checkpoints.py, browser/test_verify_page.py).
"""
import base64
import hashlib
from contextlib import nullcontext
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from freezegun import freeze_time
from sqlalchemy import select, text

from consent_center.extensions import db
from consent_center.ledger import Actor, append_only, record_change
from consent_center.models import ConsentEvent, Source, Subject
from consent_center.policies.service import publish_policy
from consent_center.subjects.service import create_subject


def first_policy(session):
    publish_policy(session, "2018-11-26", {"fr": "Politique 2018", "en": "Policy 2018"},
                   effective_at=datetime(2018, 11, 26, tzinfo=UTC))
    session.commit()


def change(session, email, changes, moment=None):
    """One consent change in its own transaction, at ``moment`` (frozen) if given."""
    with freeze_time(moment) if moment else nullcontext():
        subject = session.scalars(select(Subject).where(Subject.email == email)).first()
        if subject is None:
            subject = create_subject(session, actor=Actor.system(), email=email, is_customer=True)
        record_change(session, subject, changes, source=Source.API, actor=Actor.system())
    session.commit()


@pytest.fixture
def ledger(session):
    """Five submissions of three people."""
    first_policy(session)
    change(session, "a@example.com", {"newsletter": "withdrawn", "sms": "withdrawn"}, "2026-02-02 10:00:00")
    change(session, "b@example.com", {"newsletter": "granted"}, "2026-02-02 11:00:00")
    change(session, "a@example.com", {"newsletter": "granted"}, "2026-02-03 10:00:00")
    change(session, "c@example.com", {"sms": "granted", "post": "withdrawn"}, "2026-02-03 12:00:00")
    change(session, "a@example.com", {"newsletter": "withdrawn"}, "2026-02-04 10:00:00")


def checkpoint(runner, *args):
    """``flask ledger checkpoint [args]``; its output."""
    result = runner.invoke(args=["ledger", "checkpoint", *args])
    assert result.exit_code == 0, result.output
    return result.output


def signed_note(runner):
    """Sign a checkpoint now (``--force``); the signed note it printed."""
    output = checkpoint(runner, "--force")
    assert "checkpoint signed" in output, output
    return output[output.index("\n") + 1:]


def well_known(client, what):
    """``/.well-known/consent-log/<what>``: checkpoint, key or keys."""
    return client.get(f"/.well-known/consent-log/{what}").get_data(as_text=True)


def event_count(session):
    session.rollback()
    count = len(session.scalars(select(ConsentEvent.id)).all())
    session.rollback()  # SQLite: no read transaction left open while the app writes
    return count


def sql(statement, **params):
    return text(statement).bindparams(**params)


def forget_log():
    """Empty the log and every checkpoint the server signed (the triggers lifted by the caller)."""
    for statement in ("DELETE FROM log_checkpoints", "DELETE FROM log_nodes", "DELETE FROM log_leaves",
                      "UPDATE log_state SET size = 0, last_txid = 0, last_event_id = 0"):
        db.session.execute(text(statement))


def rebuild_log(runner):
    """What an operator covering their tracks does: the log rebuilt over today's events, and signed."""
    with append_only.lifted(db.session.connection()):  # the log's tables are append-only too (0023)
        forget_log()
    db.session.commit()
    checkpoint(runner, "--force")


# --- an independent reading of C2SP signed-note and tlog-checkpoint ------------------------

def read_verifier_key(key_text):
    name, key_hash, key = key_text.strip().split("+", 2)  # a name holds no "+"; base64 may
    key = base64.b64decode(key)
    assert key[0] == 1 and len(key) == 33
    assert hashlib.sha256(name.encode() + b"\n" + key).digest()[:4].hex() == key_hash
    return name, bytes.fromhex(key_hash), Ed25519PublicKey.from_public_bytes(key[1:])


def open_checkpoint(note, verifier_key):
    """Verify the note's signature with the verifier key; return (origin, size, root)."""
    name, key_hash, public_key = read_verifier_key(verifier_key)
    body, signatures = note.split("\n\n", 1)
    body += "\n"
    (line,) = signatures.rstrip("\n").split("\n")
    assert line.startswith("\u2014 " + name + " ")
    signature = base64.b64decode(line.rsplit(" ", 1)[1])
    assert signature[:4] == key_hash
    public_key.verify(signature[4:], body.encode())  # raises if it does not verify
    origin, size, root, empty = body.split("\n")
    assert empty == ""
    return origin, int(size), base64.b64decode(root)
