"""Today's log against checkpoints: kept elsewhere (``ledger verify --checkpoint FILE|DIR``), and
the latest one stored (the ``log`` line of every ``ledger verify``).

Against a checkpoint kept elsewhere nothing stored is trusted but the events'
content. Each leaf is recomputed from what its event says (chain.py's hash),
in log order; the first ``size`` leaves must hash to the checkpoint's root,
and the RFC 9162 consistency proof served from the stored subtree hashes
must lead from that root to the root of every leaf recomputed today. So a
truncated ledger, a deleted chain, or a history rewritten with every hash
recomputed (log tables included) no longer reaches the root the checkpoint
signed. Only the checkpoint's public key is needed, never the server's
secret key. However many checkpoints a witness returns, the events are read once.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from consent_center.ledger import merkle
from consent_center.ledger.chain import event_hash, event_rows, hashed_fields
from consent_center.ledger.checkpoints import latest_checkpoint, verifiers
from consent_center.ledger.findings import Check
from consent_center.ledger.signed_note import Checkpoint, NoteError, Verifier, open_note
from consent_center.ledger.transparency import consistency_proof, leaf_data, log_size
from consent_center.models import ConsentEvent, LogLeaf, LogNode, Subject


class LogBroken(Exception):
    """The log does not extend the checkpoint."""


@dataclass(frozen=True)
class Outcome:
    """One kept checkpoint against today's log: the size it claims, what is wrong (None: it holds),
    and the root it signed (None when it does not verify)."""
    size: int | None
    broken: str | None
    root: bytes | None = None

    def line(self, name: str) -> str:
        """How a verification run records it: which checkpoint (its file, size and root) and its verdict."""
        size = "?" if self.size is None else self.size
        root = f", root {base64.b64encode(self.root).decode()}" if self.root else ""
        if self.broken:
            return f"{name} (checkpoint of {size} events{root}): the log does NOT extend it: {self.broken}"
        return f"{name} (checkpoint of {size} events{root}): the log extends it"


def check_checkpoint(session: Session, note: str, verifiers: list[Verifier], origin: str) -> tuple[Checkpoint, int]:
    """Check the log extends the signed checkpoint ``note``; return it and today's size, or raise LogBroken."""
    size, (outcome,) = check_checkpoints(session, [note], verifiers, origin)
    if outcome.broken:
        raise LogBroken(outcome.broken)
    return Checkpoint.parse(open_note(note, verifiers)[0]), size


def claimed_size(note: str) -> int | None:
    """The tree size a note says, signed or not (to name a checkpoint that does not verify)."""
    lines = note.split("\n")
    return int(lines[1]) if len(lines) > 1 and lines[1].isdigit() else None


def check_checkpoints(session: Session, notes: list[str], verifiers: list[Verifier],
                      origin: str) -> tuple[int, list[Outcome]]:
    """Check the log extends each signed checkpoint of ``notes``, in one read of the events.

    Return today's size (recomputed) and an outcome per note, in order.
    """
    opened: list[Checkpoint | str] = []
    for note in notes:
        try:
            checkpoint = Checkpoint.parse(open_note(note, verifiers)[0])
        except NoteError as exc:
            opened.append(f"the checkpoint does not verify: {exc}")
            continue
        opened.append(checkpoint if checkpoint.origin == origin
                      else f"the checkpoint is of log {checkpoint.origin!r}, not {origin!r}")
    sizes = {c.size for c in opened if isinstance(c, Checkpoint)}
    try:
        roots, today = _recomputed_roots(session, sizes)
    except LogBroken as exc:
        return 0, [Outcome(claimed_size(note), str(exc)) for note in notes]
    stored_size = log_size(session)
    outcomes = []
    for note, checkpoint in zip(notes, opened):
        if isinstance(checkpoint, str):
            outcomes.append(Outcome(claimed_size(note), checkpoint))
            continue
        outcomes.append(Outcome(checkpoint.size, _against(session, checkpoint, roots.get(checkpoint.size), today,
                                                          stored_size), checkpoint.root))
    return today.size, outcomes


def _against(session: Session, checkpoint: Checkpoint, first_root: bytes | None, today: merkle.Frontier,
             stored_size: int) -> str | None:
    size = today.size
    if size < checkpoint.size:
        return f"the log holds {size} events, fewer than the {checkpoint.size} of the checkpoint (truncated)"
    if first_root != checkpoint.root:
        return (f"the first {checkpoint.size} events no longer hash to the checkpoint's root "
                "(an event deleted, rewritten or reordered)")
    if checkpoint.size and stored_size != size:
        return f"the log state says {stored_size} events, the log holds {size}"
    if checkpoint.size:
        proof = consistency_proof(session, checkpoint.size, size)
        if not merkle.verify_consistency(checkpoint.size, size, checkpoint.root, today.root(), proof.path):
            return "the stored log's consistency proof does not lead from the checkpoint to today's events"
    return None


def _recomputed_roots(session: Session, sizes: set[int]) -> tuple[dict[int, bytes], merkle.Frontier]:
    """The root of the first ``size`` leaves for each of ``sizes``, and the whole tree, each leaf hashed
    from its event's content."""
    frontier = merkle.Frontier()
    roots = {0: merkle.EMPTY_ROOT} if 0 in sizes else {}
    rows = event_rows(session, log_order=True)
    try:
        for row in rows:
            if row.log_index != frontier.size:
                raise LogBroken(f"log index {frontier.size} holds no event (deleted)")
            fields = hashed_fields(row, subject_public_id=row.subject_public_id, channel_code=row.channel_code,
                                   policy_label=row.policy_label, receipt_public_id=row.receipt_public_id)
            frontier.append(merkle.leaf_hash(bytes.fromhex(event_hash(fields))))
            if frontier.size in sizes:
                roots[frontier.size] = frontier.root()
    finally:
        rows.close()
    return roots, frontier


def check_latest_checkpoint(session: Session) -> Check:
    """The ``log`` check: the first N events' stored hashes give the root the latest checkpoint signed.

    One streamed read of the first N leaves in log order, each with its
    event and its stored leaf hash: an event whose leaf is missing or differs
    is named; a root that differs names the checkpoint (a rewrite whose
    leaves were recomputed too). It trusts the stored event hashes, which the
    chains' walk checks against the events' content.
    """
    check = Check("log")
    stored = latest_checkpoint(session)
    if stored is None:
        return check
    size = stored.tree_size
    check.checked = size
    try:
        signed = Checkpoint.parse(open_note(stored.note, verifiers())[0])
    except NoteError as exc:
        check.found(f"the latest checkpoint (of {size} events) does not verify with the checkpoint keys: {exc}")
        return check
    frontier = merkle.Frontier()
    rows = session.execute(
        select(LogLeaf.index.label("idx"), ConsentEvent.public_id, ConsentEvent.hash,
               Subject.public_id.label("subject"), LogNode.hash.label("leaf"))
        .outerjoin(ConsentEvent, ConsentEvent.id == LogLeaf.event_id)
        .outerjoin(Subject, Subject.id == ConsentEvent.subject_id)
        .outerjoin(LogNode, and_(LogNode.level == 0, LogNode.index == LogLeaf.index))
        .where(LogLeaf.index < size).order_by(LogLeaf.index)
        .execution_options(yield_per=5000))
    try:
        for row in rows:
            while frontier.size < row.idx:  # a leaf row deleted: its place holds nothing
                check.found(f"log index {frontier.size} holds no event (its leaf is gone)")
                frontier.append(b"")
            if row.public_id is None:
                check.found(f"log index {row.idx} holds no event (the event is gone)")
                frontier.append(b"")
                continue
            leaf = merkle.leaf_hash(leaf_data(row.hash))
            if row.leaf is None or bytes(row.leaf) != leaf:
                check.found(f"event {row.public_id} of subject {row.subject} (log index {row.idx}) no longer "
                            "hashes to its leaf in the log (rewritten after it was logged)")
            frontier.append(leaf)
    finally:
        rows.close()
    while frontier.size < size:
        check.found(f"log index {frontier.size} holds no event (its leaf is gone)")
        frontier.append(b"")
    if frontier.root() != signed.root:
        check.found(f"the first {size} events no longer hash to the root of checkpoint {size}, signed "
                    f"{stored.created_at:%Y-%m-%d %H:%M} UTC (an event deleted, rewritten or reordered)")
    return check
