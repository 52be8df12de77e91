"""Signed checkpoints of the transparency log (C2SP tlog-checkpoint in a signed note).

A checkpoint is signed when the log grew and ``CONSENT_CHECKPOINT_SECONDS``
passed since the last one (``flask ledger checkpoint``, the outbox worker);
its key is the checkpoint key, kept and rotated as the receipt keys are
(receipts/keys.py), and named by the log's origin. Each one is copied to the
witnesses (outbox/witnesses.py) in the transaction that signs it.
"""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.clock import utcnow
from consent_center.extensions import db
from consent_center.ledger.signed_note import Checkpoint, Verifier, sign_note
from consent_center.ledger.transparency import integrate, root_at
from consent_center.models import LogCheckpoint
from consent_center.receipts.keys import checkpoint_key_store
from consent_center.signals import checkpoint_signed


def origin() -> str:
    """The log's name: ``CONSENT_CHECKPOINT_ORIGIN``; else the name its first checkpoint was signed
    under; else the base URL's host and path + ``/consent-log``.

    A log keeps the name it was born with: a command run without the server's
    ``CONSENT_BASE_URL`` (or after the site moved) still checks its checkpoints.
    """
    configured = current_app.config.get("CHECKPOINT_ORIGIN")
    if configured:
        return configured
    first = db.session.scalar(select(LogCheckpoint.note).order_by(LogCheckpoint.tree_size).limit(1))
    if first:
        return first.split("\n", 1)[0]
    base = urlsplit(current_app.config["BASE_URL"])
    return f"{base.netloc}{base.path.rstrip('/')}/consent-log"


def verifiers() -> list[Verifier]:
    """A verifier for every checkpoint key, the active one first."""
    ring = checkpoint_key_store().ring()
    name = origin()
    ordered = [ring.active_kid] + sorted(kid for kid in ring.public if kid != ring.active_kid)
    return [Verifier(name, ring.public[kid].public_key) for kid in ordered]


def published_verifiers() -> list[Verifier]:
    """A verifier for every checkpoint key there is, creating none (a check needs no private key)."""
    public = checkpoint_key_store().public_keys()
    name = origin()
    return [Verifier(name, public[kid].public_key) for kid in sorted(public)]


def verifier_list() -> str:
    """Every checkpoint verifier key, the active one first, one a line (signed_note.read_verifiers)."""
    return "".join(verifier.encode() + "\n" for verifier in verifiers())


def checkpoint_file_name(size: int) -> str:
    """The name a checkpoint's note is kept under: in the witness mail, the export, the download."""
    return f"checkpoint-{size}.txt"


def latest_checkpoint(session: Session) -> LogCheckpoint | None:
    return session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.tree_size.desc()).limit(1)).first()


def checkpoint_of_size(session: Session, size: int) -> LogCheckpoint | None:
    return session.scalars(select(LogCheckpoint).where(LogCheckpoint.tree_size == size)).first()


def all_checkpoints(session: Session) -> list[LogCheckpoint]:
    return list(session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.tree_size)))


def make_checkpoint(session: Session, *, force: bool = False) -> tuple[int, LogCheckpoint | None]:
    """Integrate new events; sign a checkpoint if the log grew and one is due (or ``force``).

    Return the log's size and the new checkpoint, if one was signed.
    """
    size = integrate(session)
    latest = latest_checkpoint(session)
    if size == 0 or (latest is not None and latest.tree_size >= size):
        return size, None
    now = utcnow()
    due = latest is None or now - latest.created_at >= timedelta(seconds=current_app.config["CHECKPOINT_SECONDS"])
    if not (due or force):
        return size, None
    body = Checkpoint(origin(), size, root_at(session, size))
    key = checkpoint_key_store().ring().active
    verifier = Verifier(body.origin, key.public_key)
    checkpoint = LogCheckpoint(tree_size=size, root_hash=body.root, key_hash=verifier.hash.hex(),
                               note=sign_note(body.text(), body.origin, key.private_key), created_at=now)
    session.add(checkpoint)
    session.flush()
    # The witnesses' copies are written with it: a checkpoint exists exactly when they are on their way.
    checkpoint_signed.send(session, checkpoint=checkpoint, verifier_key=verifier.encode())
    return size, checkpoint
