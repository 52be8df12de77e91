"""A receipt's place in the transparency log: the "log" part of every receipt download.

Each event the signed document names gets its log index and its RFC 9162
inclusion proof against the latest signed checkpoint, whose note travels
with them, so the download is checked with the checkpoint's public key
alone (``receipt_log_check.py``). One checkpoint for all the entries; each
proof reads O(log n) stored nodes. Until every event is integrated and
covered by a signed checkpoint the part says ``pending``; the download is
computed afresh each time, so downloading it again after the next
checkpoint gives the proofs.
"""
from __future__ import annotations

import base64
import json

from sqlalchemy.orm import Session

from consent_center.ledger.checkpoints import latest_checkpoint, origin
from consent_center.ledger.transparency import NotInLog, inclusion_proof
from consent_center.models import Receipt
from consent_center.receipts.documents import receipt_payload

PENDING = {"status": "pending"}


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def receipt_log(session: Session, document: dict) -> dict:
    """The log part for the events ``document`` names: their proofs, or ``pending``."""
    events = document.get("events") or []
    checkpoint = latest_checkpoint(session)
    if not events or checkpoint is None:
        return dict(PENDING)
    entries = []
    for event in events:
        try:
            proof = inclusion_proof(session, event["id"], checkpoint.tree_size)
        except NotInLog:
            return dict(PENDING)
        entries.append({"event": proof.event, "event_hash": proof.event_hash, "leaf_index": proof.leaf_index,
                        "inclusion_path": [_b64(h) for h in proof.path]})
    return {"status": "included", "log_id": origin(), "tree_size": checkpoint.tree_size,
            "root_hash": _b64(checkpoint.root_hash), "checkpoint": checkpoint.note, "entries": entries}


def receipt_download(session: Session, receipt: Receipt) -> dict:
    """What a receipt download holds: the signed receipt (``receipt_payload``) and its log part."""
    payload = receipt_payload(receipt)
    payload["log"] = receipt_log(session, payload["document"])
    return payload


def receipt_file(session: Session, receipt: Receipt) -> tuple[str, str]:
    """The download as a file: its JSON text and its name, alike wherever a page offers it."""
    body = json.dumps(receipt_download(session, receipt), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    return body, f"receipt-{receipt.public_id}.json"
