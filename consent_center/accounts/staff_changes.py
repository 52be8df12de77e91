"""Changes recorded by staff on a customer's behalf (phone call, paper form, shop counter)."""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from consent_center.after_commit import remove_after_commit, remove_unless_committed
from consent_center.ledger import Actor, Recorded, current_states, record_change
from consent_center.models import Account, ConsentEvent, Subject
from consent_center.models.vocabulary import ActorType, Source, Status
from consent_center.subjects.preferences import active_channels
from consent_center.accounts.staff_log import log_staff_action

# How the customer told us: the evidence says which.
CONTACT_METHODS = ("phone", "paper_form", "shop_counter", "email", "other")
_DIGEST = re.compile(r"[0-9a-f]{64}")


class StaffChangeError(ValueError):
    """A change staff may not record as submitted; nothing was written."""


@dataclass(frozen=True)
class Proof:
    """An uploaded proof file: its bytes and the name it had on the staff member's computer."""

    filename: str
    data: bytes


def check_proof(proof: Proof, *, max_bytes: int) -> dict:
    """Refuse an empty or too large proof (``StaffChangeError``); return what the event keeps of it."""
    if not proof.data:
        raise StaffChangeError("empty_proof")
    if len(proof.data) > max_bytes:
        raise StaffChangeError("proof_too_large")
    return {"sha256": hashlib.sha256(proof.data).hexdigest(),
            "filename": Path(proof.filename or "proof").name[:200], "size": len(proof.data)}


def store_proof(session: Session, instance_path: str, proof: Proof, digest: str) -> None:
    """Keep the file under instance/proofs/ named by its SHA-256, unless the transaction does not commit.

    Written before the commit, so an event that commits never cites a
    missing file; a file this call wrote goes again if the transaction
    ends without a commit (a file already there stays: an earlier event
    may cite it). A crash between the write and the commit leaves a file
    nothing cites, never an event without its proof. Content addressing
    makes a second upload of the same file harmless.
    """
    folder = Path(instance_path) / "proofs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / digest
    if path.exists():
        return
    partial = folder / f".{digest}.{os.getpid()}.part"
    partial.write_bytes(proof.data)
    partial.replace(path)
    remove_unless_committed(session, [path])


def record_on_behalf(
    session: Session,
    subject: Subject,
    active_codes: set[str],
    *,
    staff: Account,
    method: str,
    evidence_text: str,
    proof: Proof | None,
    trace: dict,
) -> Recorded:
    """Record the customer's choices as staff heard or read them, with the evidence.

    A channel checked becomes granted, one unchecked that was granted is
    withdrawn; the staff action log gets a line in the same transaction.
    The proof file is stored only when an event cites it: a change that
    changes nothing, or is refused, keeps no file an erasure could not find.
    """
    evidence_text = (evidence_text or "").strip()
    if not evidence_text:
        raise StaffChangeError("evidence_required")
    if method not in CONTACT_METHODS:
        raise StaffChangeError("unknown_method")
    kept_proof = check_proof(proof, max_bytes=current_app.config["PROOF_MAX_BYTES"]) if proof else None
    states = current_states(session, subject)
    changes: dict[str, str] = {}
    for channel in active_channels(session):
        state = states.get(channel.id)
        if channel.code in active_codes:
            changes[channel.code] = Status.GRANTED
        elif state is not None and state.status == Status.GRANTED:
            changes[channel.code] = Status.WITHDRAWN
    evidence = {"text": evidence_text, "method": method, "staff_account": staff.id}
    if kept_proof:
        evidence["proof"] = kept_proof
    recorded = record_change(
        session, subject, changes, source=Source.STAFF,
        actor=Actor(ActorType.ACCOUNT, str(staff.id)), evidence=evidence,
        trace=trace | {"account": staff.id},
    )
    if kept_proof and recorded.receipt is not None:
        store_proof(session, current_app.instance_path, proof, kept_proof["sha256"])
    log_staff_action(
        session, staff, "consent.recorded_on_behalf", f"subject:{subject.public_id}",
        method=method, receipt=recorded.receipt.public_id if recorded.receipt else None,
        changes={e.channel.code: e.status for e in recorded.events},
        proof_sha256=kept_proof["sha256"] if kept_proof and recorded.receipt else None,
    )
    return recorded


def forget_proofs(session: Session, instance_path: str, subject: Subject) -> list[str]:
    """Remove, once the transaction commits, the proof files of ``subject``'s staff changes (erasure).

    A proof is a scan of what the person signed: it names them. The event
    keeps the file's SHA-256, so the chain still verifies. A file another
    subject's change cites too (one form signed by two people) is kept for
    them; the public ids of ``subject``'s events whose proof is kept are returned.
    """
    cited: dict[str, list[str]] = {}
    for event in session.scalars(select(ConsentEvent).where(
            ConsentEvent.subject_id == subject.id, ConsentEvent.source == Source.STAFF)):
        proof = (event.evidence or {}).get("proof")
        digest = proof.get("sha256") if isinstance(proof, dict) else None
        if isinstance(digest, str) and _DIGEST.fullmatch(digest):
            cited.setdefault(digest, []).append(event.public_id)
    kept, removed = [], []
    for digest, events in cited.items():
        elsewhere = session.scalars(select(ConsentEvent.id).where(
            ConsentEvent.subject_id != subject.id, ConsentEvent.source == Source.STAFF,
            cast(ConsentEvent.evidence, Text).contains(digest)).limit(1)).first()
        if elsewhere is None:
            removed.append(Path(instance_path) / "proofs" / digest)
        else:
            kept.extend(events)
    remove_after_commit(session, removed)
    return kept
