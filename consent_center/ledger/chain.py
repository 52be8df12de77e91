"""The per-subject hash chain of consent events: hashing and verification."""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.canonical import canonical_json, format_time
from consent_center.models import Channel, ConsentEvent, ConsentState, LogLeaf, PolicyVersion, Receipt, Subject


def event_hash(fields: dict) -> str:
    """Return the SHA-256 of an event's hashed fields, chained by ``prev_hash``."""
    return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()


def hashed_fields(
    event: ConsentEvent, *, subject_public_id: str, channel_code: str,
    policy_label: str | None, receipt_public_id: str,
) -> dict:
    """Return what an event's hash covers: everything it says, nothing personal."""
    return {
        "id": event.public_id,
        "subject": subject_public_id,
        "seq": event.seq,
        "channel": channel_code,
        "status": event.status,
        "previous_status": event.previous_status,
        "basis": event.basis,
        "event_type": event.event_type,
        "source": event.source,
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "policy_version": policy_label,
        "receipt": receipt_public_id,
        "occurred_at": format_time(event.occurred_at),
        "evidence": event.evidence,
        "trace": event.trace,
        "prev_hash": event.prev_hash,
    }


@dataclass
class ChainBreak:
    event_id: int
    subject_public_id: str
    reason: str

    def __str__(self) -> str:
        return f"event {self.event_id} of subject {self.subject_public_id}: {self.reason}"


@dataclass
class VerifyReport:
    subjects: int = 0
    events: int = 0
    first_break: ChainBreak | None = None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def event_rows(session: Session, batch: int = 5000, *, log_order: bool = False):
    """Every event row (never an identity-mapped object) with what its hash needs.

    By subject then id; with ``log_order``, only events in the transparency
    log, by log index (``log_index``).
    """
    stmt = (
        select(
            *ConsentEvent.__table__.c,
            Subject.public_id.label("subject_public_id"), Channel.code.label("channel_code"),
            PolicyVersion.label.label("policy_label"), Receipt.public_id.label("receipt_public_id"),
        )
        .join(Subject, Subject.id == ConsentEvent.subject_id)
        .join(Channel, Channel.id == ConsentEvent.channel_id)
        .join(Receipt, Receipt.id == ConsentEvent.receipt_id)
        .outerjoin(PolicyVersion, PolicyVersion.id == ConsentEvent.policy_version_id)
        .execution_options(yield_per=batch)
    )
    if log_order:
        stmt = (stmt.add_columns(LogLeaf.index.label("log_index"))
                .join(LogLeaf, LogLeaf.event_id == ConsentEvent.id).order_by(LogLeaf.index))
    else:
        stmt = stmt.order_by(ConsentEvent.subject_id, ConsentEvent.id)
    return session.execute(stmt)


def count_events(session: Session) -> int:
    from sqlalchemy import func

    return session.scalar(select(func.count()).select_from(ConsentEvent)) or 0


def verify_chains(session: Session, progress=None) -> VerifyReport:
    """Walk every subject's chain in id order; stop at the first break.

    Each event must hash to its stored hash, name its predecessor's hash,
    and carry the next sequence number: an edit breaks the first, a
    deletion or a reordering (of ids or of seq) the others.
    """
    report = VerifyReport()
    rows = event_rows(session)
    try:
        for chain in chains(rows, progress):
            if not walk_chain(chain, report):
                break
    finally:
        rows.close()  # a break stops the walk early: release the server-side cursor
    return report


@dataclass
class Chain:
    """One subject's events as stored, in id order (rows of ``event_rows``)."""
    subject_id: int
    subject_public_id: str
    events: list


def chains(rows, progress=None) -> Iterator[Chain]:
    """Group event rows, ordered by subject then id, into each subject's chain."""
    chain = None
    for event in rows:
        if progress is not None:
            progress(1)
        if chain is None or event.subject_id != chain.subject_id:
            if chain is not None:
                yield chain
            chain = Chain(event.subject_id, event.subject_public_id, [])
        chain.events.append(event)
    if chain is not None:
        yield chain


def walk_chain(chain: Chain, report: VerifyReport) -> bool:
    """Check one chain's hashes, links and positions; False (and the break noted) where it breaks."""
    report.subjects += 1
    previous_hash: str | None = None
    for expected_seq, event in enumerate(chain.events, start=1):
        report.events += 1
        fields = hashed_fields(
            event, subject_public_id=chain.subject_public_id, channel_code=event.channel_code,
            policy_label=event.policy_label, receipt_public_id=event.receipt_public_id,
        )
        reason = None
        if event_hash(fields) != event.hash:
            reason = "its content does not match its hash (edited)"
        elif event.prev_hash != previous_hash:
            reason = "it does not follow the previous event of its chain (deleted or reordered)"
        elif event.seq != expected_seq:
            reason = f"its position is {event.seq}, expected {expected_seq} (deleted or reordered)"
        if reason:
            report.first_break = ChainBreak(event.id, chain.subject_public_id, reason)
            return False
        previous_hash = event.hash
    return True


def replay_states(session: Session) -> dict[tuple[int, int], tuple[str, str, int]]:
    """Return {(subject_id, channel_id): (status, basis, event_id)} from the events alone."""
    states: dict[tuple[int, int], tuple[str, str, int]] = {}
    stmt = select(
        ConsentEvent.subject_id, ConsentEvent.channel_id, ConsentEvent.status,
        ConsentEvent.basis, ConsentEvent.id,
    ).order_by(ConsentEvent.subject_id, ConsentEvent.seq)
    for subject_id, channel_id, status, basis, event_id in session.execute(stmt):
        states[(subject_id, channel_id)] = (status, basis, event_id)
    return states


def stored_states(session: Session) -> dict[tuple[int, int], tuple[str, str, int]]:
    rows = session.execute(select(
        ConsentState.subject_id, ConsentState.channel_id, ConsentState.status,
        ConsentState.basis, ConsentState.event_id,
    ))
    return {(s, c): (status, basis, e) for s, c, status, basis, e in rows}
