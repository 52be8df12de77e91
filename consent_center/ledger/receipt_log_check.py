"""Checking a receipt download's log part with the checkpoint's public key alone (no app, no database).

The standalone verifier (``python -m consent_center.receipts.verify
--log-key``) runs it after the receipt's signature holds: the checkpoint
note must be signed by the given key and name the log, size and root the
part says; every entry must be an event the signed document names, with its
hash, and its inclusion path must lead from that event's leaf to the
checkpoint's root (RFC 9162 §2.1.3.2); and every event the document names
must have its entry.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from consent_center.ledger import merkle
from consent_center.ledger.signed_note import Checkpoint, NoteError, Verifier, open_note
from consent_center.ledger.transparency import leaf_data

INCLUDED, PENDING, ABSENT, UNCHECKED = "included", "pending", "absent", "unchecked"


class LogPartInvalid(ValueError):
    """A log part whose checkpoint or proofs do not hold, or that does not read."""


@dataclass(frozen=True)
class LogVerdict:
    status: str  # included (checked), pending, absent (an older download), unchecked (no key given)
    log_id: str | None = None
    tree_size: int | None = None
    leaf_indexes: tuple[int, ...] = ()


def check_log_part(log: object, document: dict, verifiers: list[Verifier] | None) -> LogVerdict:
    """Check ``log`` (a download's "log") for the signed ``document`` with the checkpoint keys
    ``verifiers`` (any of them may have signed it: a key retired since); raise LogPartInvalid if it fails."""
    if log is None:
        return LogVerdict(ABSENT)
    if not isinstance(log, dict):
        raise LogPartInvalid("it is not a JSON object")
    if log.get("status") == PENDING:
        return LogVerdict(PENDING)
    if log.get("status") != INCLUDED:
        raise LogPartInvalid(f"unknown status {log.get('status')!r}")
    if not verifiers:
        return LogVerdict(UNCHECKED, _text(log, "log_id"), None)
    checkpoint = _signed_checkpoint(log, verifiers)
    documented = _documented_events(document)
    entries = log.get("entries")
    if not isinstance(entries, list) or not entries:
        raise LogPartInvalid("it lists no entries")
    indexes = []
    for entry in entries:
        indexes.append(_check_entry(entry, documented, checkpoint))
    if len(set(indexes)) != len(indexes) or len(indexes) != len(documented):
        raise LogPartInvalid(f"it proves {len(set(indexes))} of the {len(documented)} events the receipt names")
    return LogVerdict(INCLUDED, checkpoint.origin, checkpoint.size, tuple(indexes))


def _text(log: dict, field: str) -> str:
    value = log.get(field)
    if not isinstance(value, str):
        raise LogPartInvalid(f"{field} is not text")
    return value


def _signed_checkpoint(log: dict, verifiers: list[Verifier]) -> Checkpoint:
    try:
        text, _ = open_note(_text(log, "checkpoint"), verifiers)
        checkpoint = Checkpoint.parse(text)
    except NoteError as exc:
        raise LogPartInvalid(f"the checkpoint does not verify with the log key: {exc}") from None
    if checkpoint.origin != log.get("log_id"):
        raise LogPartInvalid(f"the checkpoint is of log {checkpoint.origin!r}, not {log.get('log_id')!r}")
    if checkpoint.size != log.get("tree_size") or type(log.get("tree_size")) is not int:
        raise LogPartInvalid(f"the checkpoint is of {checkpoint.size} events, not {log.get('tree_size')!r}")
    if base64.b64encode(checkpoint.root).decode() != log.get("root_hash"):
        raise LogPartInvalid("the root hash is not the checkpoint's")
    return checkpoint


def _documented_events(document: dict) -> dict[str, str]:
    """The events the signed document names: id -> hash."""
    events = document.get("events")
    if not isinstance(events, list) or not events:
        raise LogPartInvalid("the signed receipt names no events")
    try:
        return {event["id"]: event["hash"] for event in events}
    except (TypeError, KeyError):
        raise LogPartInvalid("the signed receipt's events have no id and hash") from None


def _check_entry(entry: object, documented: dict[str, str], checkpoint: Checkpoint) -> int:
    if not isinstance(entry, dict):
        raise LogPartInvalid("an entry is not a JSON object")
    event, event_hash, index = entry.get("event"), entry.get("event_hash"), entry.get("leaf_index")
    if not isinstance(event, str) or documented.get(event) is None or documented[event] != event_hash:
        raise LogPartInvalid(f"entry {event!r} is not an event the signed receipt names, with its hash")
    if type(index) is not int or not 0 <= index < checkpoint.size:
        raise LogPartInvalid(f"entry {event}: leaf index {index!r} is outside the checkpoint's tree")
    path = entry.get("inclusion_path")
    if not isinstance(path, list):
        raise LogPartInvalid(f"entry {event}: the inclusion path is not a list")
    try:
        hashes = [base64.b64decode(h, validate=True) for h in path]
        leaf = merkle.leaf_hash(leaf_data(event_hash))
    except (TypeError, ValueError, binascii.Error):
        raise LogPartInvalid(f"entry {event}: the inclusion path or the event hash does not read") from None
    if not merkle.verify_inclusion(index, checkpoint.size, leaf, hashes, checkpoint.root):
        raise LogPartInvalid(f"entry {event}: the inclusion proof does not lead to the checkpoint's root")
    return index
