"""The transparency log: every consent event a leaf of one RFC 9162 Merkle tree.

The leaf of an event is its stored hash (32 bytes): that hash covers all the
event says and the hash before it in the subject's chain (chain.py), so a
leaf commits to the event's content and to its chain's past; ``ledger
verify --checkpoint`` recomputes it from the content (log_check.py).

Integration runs apart from the write path (``flask ledger checkpoint``
and the outbox worker), so a consent change costs what it did before. It
gives log indexes in commit order, as the change feed reads it (feed.py):
on PostgreSQL only events of transactions older than the oldest one of this
database still running, in ``(txid, id)`` order, so no event can commit behind the log's
end; on SQLite, whose writers are serialised, in id order. Integrators take
turns: each first updates the one ``log_state`` row, which holds the row
lock (PostgreSQL) or the writer lock (SQLite) until it commits.

Only complete subtrees are stored (``log_nodes``), so k new events cost at
most 2k node writes, and a root or proof of any size reads O(log n) nodes,
in one query.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, or_, select, tuple_, update
from sqlalchemy.orm import Session

from consent_center.db.copy import insert_rows
from consent_center.ledger import merkle
from consent_center.ledger.horizon import database_horizon
from consent_center.models import ConsentEvent, LogLeaf, LogNode, LogState

BATCH = 5000


class NotInLog(LookupError):
    """An event, or a tree size, the log does not hold (yet)."""


def leaf_data(event_hash: str) -> bytes:
    """The leaf of an event: its stored hash, as 32 bytes."""
    return bytes.fromhex(event_hash)


def log_size(session: Session) -> int:
    return session.scalar(select(LogState.size).where(LogState.id == 1)) or 0


def integrate(session: Session, *, batch: int = BATCH) -> int:
    """Give every committed event not yet in the log its index and store the new nodes; return the size."""
    # Taking the state row first makes concurrent integrators wait for each other.
    session.execute(update(LogState).where(LogState.id == 1).values(size=LogState.size))
    state = session.execute(select(LogState).where(LogState.id == 1).execution_options(populate_existing=True)
                            ).scalar_one()
    frontier = merkle.Frontier(state.size, _hashes(session, merkle.range_nodes(0, state.size)))
    postgres = session.get_bind().dialect.name == "postgresql"
    e = ConsentEvent.__table__
    last = (state.last_txid, state.last_event_id)
    horizon = database_horizon(session) if postgres else None
    while True:
        stmt = select(e.c.id, e.c.txid, e.c.hash).limit(batch)
        if postgres:
            stmt = stmt.where(tuple_(e.c.txid, e.c.id) > tuple_(*last), e.c.txid < horizon
                              ).order_by(e.c.txid, e.c.id)
        else:
            stmt = stmt.where(e.c.id > last[1]).order_by(e.c.id)
        rows = session.execute(stmt).all()
        if not rows:
            break
        leaves, nodes = [], []
        keep = _collector(nodes)
        for row in rows:
            leaves.append((frontier.size, row.id))
            frontier.append(merkle.leaf_hash(leaf_data(row.hash)), keep)
        insert_rows(session.connection(), LogLeaf.__table__, ("idx", "event_id"), leaves)
        insert_rows(session.connection(), LogNode.__table__, ("level", "idx", "hash"), nodes)
        last = (rows[-1].txid or 0, rows[-1].id)
    if frontier.size != state.size:
        session.execute(update(LogState).where(LogState.id == 1).values(
            size=frontier.size, last_txid=last[0], last_event_id=last[1]))
    session.flush()
    return frontier.size


def _collector(nodes: list):
    def keep(level: int, index: int, digest: bytes) -> None:
        nodes.append((level, index, digest))
    return keep


def _hashes(session: Session, nodes: list[merkle.Node]) -> list[bytes]:
    stored = _read(session, nodes)
    return [stored[node] for node in nodes]


def _read(session: Session, nodes) -> dict[merkle.Node, bytes]:
    """The stored hashes of ``nodes``, in one query."""
    nodes = list(nodes)
    if not nodes:
        return {}
    n = LogNode.__table__
    by_level: dict[int, list[int]] = {}
    for level, index in nodes:
        by_level.setdefault(level, []).append(index)
    # One primary-key range per level: SQLite scans the table for a row-value IN.
    rows = session.execute(select(n.c.level, n.c.idx, n.c.hash).where(or_(
        *(and_(n.c.level == level, n.c.idx.in_(indexes)) for level, indexes in by_level.items())))).all()
    return {(row.level, row.idx): bytes(row.hash) for row in rows}


def root_at(session: Session, size: int) -> bytes:
    """MTH of the first ``size`` leaves."""
    _check_size(session, size)
    if size == 0:
        return merkle.EMPTY_ROOT
    nodes = merkle.range_nodes(0, size)
    return merkle.range_hash(nodes, _read(session, nodes))


def _check_size(session: Session, size: int) -> None:
    current = log_size(session)
    if not 0 <= size <= current:
        raise NotInLog(f"the log holds {current} events, not {size}")


@dataclass(frozen=True)
class InclusionProof:
    event: str
    event_hash: str
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    path: list[bytes]
    root: bytes


def inclusion_proof(session: Session, event_public_id: str, size: int) -> InclusionProof:
    """PATH(index, D[0:size]) for the event (RFC 9162 §2.1.3.1), with the root it leads to."""
    _check_size(session, size)
    row = session.execute(
        select(LogLeaf.index, ConsentEvent.hash).join(ConsentEvent, ConsentEvent.id == LogLeaf.event_id)
        .where(ConsentEvent.public_id == event_public_id)).first()
    if row is None:
        raise NotInLog(f"event {event_public_id} is not in the log yet")
    if row.index >= size:
        raise NotInLog(f"event {event_public_id} is at index {row.index}, past a tree of {size}")
    leaf, path, root = inclusion_path(session, row.index, size)
    return InclusionProof(event_public_id, row.hash, row.index, size, leaf, path, root)


def inclusion_path(session: Session, index: int, size: int) -> tuple[bytes, list[bytes], bytes]:
    """The leaf hash at ``index``, PATH(index, D[0:size]) and the root, from the stored nodes in one query."""
    ranges = merkle.inclusion_ranges(index, size)
    whole = merkle.range_nodes(0, size)
    stored = _read(session, merkle.nodes_for(ranges) | set(whole) | {(0, index)})
    return stored[(0, index)], merkle.hashes_of(ranges, stored), merkle.range_hash(whole, stored)


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    first_root: bytes
    second_root: bytes
    path: list[bytes]


def consistency_proof(session: Session, first: int, second: int) -> ConsistencyProof:
    """PROOF(first, D[0:second]) (RFC 9162 §2.1.4.1), with both roots."""
    _check_size(session, second)
    ranges = merkle.consistency_ranges(first, second)  # ValueError unless 0 < first <= second
    first_nodes, second_nodes = merkle.range_nodes(0, first), merkle.range_nodes(0, second)
    stored = _read(session, merkle.nodes_for(ranges) | set(first_nodes) | set(second_nodes))
    return ConsistencyProof(first, second, merkle.range_hash(first_nodes, stored),
                            merkle.range_hash(second_nodes, stored), merkle.hashes_of(ranges, stored))
