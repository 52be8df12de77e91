"""Today's log against a checkpoint kept elsewhere: ``ledger verify --checkpoint FILE``.

Nothing stored is trusted but the events' content. Each leaf is recomputed
from what its event says (chain.py's hash), in log order; the first
``size`` leaves must hash to the checkpoint's root, and the RFC 9162
consistency proof served from the stored subtree hashes must lead from
that root to the root of every leaf recomputed today. So a truncated ledger,
a deleted chain, or a history rewritten with every hash recomputed (log
tables included) no longer reaches the root the checkpoint signed. Only the
checkpoint's public key is needed, never the server's secret key.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from consent_center.ledger import merkle
from consent_center.ledger.chain import event_hash, event_rows, hashed_fields
from consent_center.ledger.signed_note import Checkpoint, NoteError, Verifier, open_note
from consent_center.ledger.transparency import consistency_proof, log_size


class LogBroken(Exception):
    """The log does not extend the checkpoint."""


def check_checkpoint(session: Session, note: str, verifiers: list[Verifier], origin: str) -> tuple[Checkpoint, int]:
    """Check the log extends the signed checkpoint ``note``; return it and today's size, or raise LogBroken."""
    try:
        text, _ = open_note(note, verifiers)
        checkpoint = Checkpoint.parse(text)
    except NoteError as exc:
        raise LogBroken(f"the checkpoint does not verify: {exc}") from None
    if checkpoint.origin != origin:
        raise LogBroken(f"the checkpoint is of log {checkpoint.origin!r}, not {origin!r}")
    first_root, today = _recomputed_roots(session, checkpoint.size)
    size = today.size
    if size < checkpoint.size:
        raise LogBroken(f"the log holds {size} events, fewer than the {checkpoint.size} of the checkpoint "
                        "(truncated)")
    if first_root != checkpoint.root:
        raise LogBroken(f"the first {checkpoint.size} events no longer hash to the checkpoint's root "
                        "(an event deleted, rewritten or reordered)")
    if checkpoint.size and log_size(session) != size:
        raise LogBroken(f"the log state says {log_size(session)} events, the log holds {size}")
    if checkpoint.size:
        proof = consistency_proof(session, checkpoint.size, size)
        if not merkle.verify_consistency(checkpoint.size, size, checkpoint.root, today.root(), proof.path):
            raise LogBroken("the stored log's consistency proof does not lead from the checkpoint to today's events")
    return checkpoint, size


def _recomputed_roots(session: Session, first: int) -> tuple[bytes | None, merkle.Frontier]:
    """The root of the first ``first`` leaves and the whole tree, each leaf hashed from its event's content."""
    frontier = merkle.Frontier()
    first_root = merkle.EMPTY_ROOT if first == 0 else None
    rows = event_rows(session, log_order=True)
    try:
        for row in rows:
            if row.log_index != frontier.size:
                raise LogBroken(f"log index {frontier.size} holds no event (deleted)")
            fields = hashed_fields(row, subject_public_id=row.subject_public_id, channel_code=row.channel_code,
                                   policy_label=row.policy_label, receipt_public_id=row.receipt_public_id)
            frontier.append(merkle.leaf_hash(bytes.fromhex(event_hash(fields))))
            if frontier.size == first:
                first_root = frontier.root()
    finally:
        rows.close()
    return first_root, frontier
