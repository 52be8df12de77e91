"""RFC 9162 §2.1 Merkle trees: hashing, and proofs read from stored perfect subtrees.

Nothing here touches the database. A tree of ``n`` leaves is addressed by
its *perfect subtrees*: ``(level, index)`` is the hash of the ``2**level``
leaves from ``index * 2**level`` on, the nodes C2SP tlog-tiles stores. Any
range the RFC's recursion names (``D[start:end]``, split at the largest power
of two below its size) is a short list of them, so a root, an inclusion
proof or a consistency proof is computed from O(log n) stored nodes, named
beforehand (``*_nodes``) so that they are read in one query.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

Node = tuple[int, int]  # (level, index)
Range = tuple[int, int]  # [start, end) over leaf indexes


def leaf_hash(data: bytes) -> bytes:
    """HASH(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """HASH(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (> 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[Node]:
    """The perfect subtrees that make up ``D[start:end]``, left to right (a range the RFC names)."""
    nodes = []
    while start < end:
        size = end - start
        # The largest power of two that fits, and that ``start`` is aligned on.
        level = size.bit_length() - 1
        while start % (1 << level):
            level -= 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def range_hash(nodes: list[Node], stored: dict[Node, bytes]) -> bytes:
    """MTH of a range from its perfect subtrees: folded from the right, as the RFC splits it."""
    hashes = [stored[node] for node in nodes]
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose MTHs are PATH(index, D[0:size]), leaf side first (RFC 9162 §2.1.3.1)."""
    path: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index - start < k:
            path.append((start + k, end))
            end = start + k
        else:
            path.append((start, start + k))
            start += k
    return path[::-1]


def consistency_ranges(first: int, second: int) -> list[Range]:
    """The ranges whose MTHs are PROOF(first, D[0:second]) (RFC 9162 §2.1.4.1); empty if equal."""
    if not 0 < first <= second:
        raise ValueError("a consistency proof needs 0 < first <= second")
    proof: list[Range] = []
    start, end, whole = 0, second, True
    m = first
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append((start + k, end))
            end = start + k
        else:
            proof.append((start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        proof.append((start, end))
    return proof[::-1]


def nodes_for(ranges: Iterable[Range]) -> set[Node]:
    """Every stored node the ranges need."""
    return {node for start, end in ranges for node in range_nodes(start, end)}


def hashes_of(ranges: list[Range], stored: dict[Node, bytes]) -> list[bytes]:
    return [range_hash(range_nodes(start, end), stored) for start, end in ranges]


# Verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ------------------------------------------


def root_from_inclusion(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes | None:
    """The root an inclusion proof leads to, or None if the proof is malformed."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def verify_inclusion(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    return root_from_inclusion(index, size, leaf, path) == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       path: list[bytes]) -> bool:
    """Whether ``path`` proves the tree of ``second`` leaves extends the tree of ``first``."""
    if not 0 < first <= second:
        return False
    if first == second:
        return not path and first_root == second_root
    if not path:
        return False
    if first & (first - 1) == 0:
        path = [first_root, *path]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0


# Building ----------------------------------------------------------------------------------


class Frontier:
    """The right edge of a growing tree: its perfect subtrees, largest first.

    ``append`` adds a leaf and returns every node it completes, so k leaves
    cost O(k) new nodes in all; ``root`` is the MTH of everything appended.
    """

    def __init__(self, size: int = 0, edge: list[bytes] | None = None) -> None:
        self.size = size
        self.edge = list(edge or [])  # hashes of range_nodes(0, size), in order

    def append(self, leaf: bytes, on_node: Callable[[int, int, bytes], None] | None = None) -> None:
        index = self.size
        h, level = leaf, 0
        if on_node:
            on_node(0, index, h)
        while index >> level & 1:
            h = node_hash(self.edge.pop(), h)
            level += 1
            if on_node:
                on_node(level, index >> level, h)
        self.edge.append(h)
        self.size += 1

    def root(self) -> bytes:
        if not self.edge:
            return EMPTY_ROOT
        root = self.edge[-1]
        for left in reversed(self.edge[:-1]):
            root = node_hash(left, root)
        return root
