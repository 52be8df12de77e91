"""The RFC 9162 §2.1 algorithms of ledger/merkle.py against the RFC itself.

The reference below is written from the RFC's text, apart from the module:
MTH, PATH and PROOF as its recursive definitions over the whole list of
leaves (brute force), and the verification algorithms of §2.1.3.2 and
§2.1.4.2 step by step. The module's proofs, computed from stored perfect
subtrees only, must equal the definitions and pass the RFC's verification.
"""
import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from consent_center.ledger import merkle

# --- RFC 9162 §2.1.1-2.1.4, as written ---------------------------------------------------

def HASH(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def k_of(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def MTH(D: list[bytes]) -> bytes:
    n = len(D)
    if n == 0:
        return HASH(b"")
    if n == 1:
        return HASH(b"\x00" + D[0])
    k = k_of(n)
    return HASH(b"\x01" + MTH(D[:k]) + MTH(D[k:]))


def PATH(m: int, D: list[bytes]) -> list[bytes]:
    n = len(D)
    if n == 1:
        return []
    k = k_of(n)
    if m < k:
        return PATH(m, D[:k]) + [MTH(D[k:])]
    return PATH(m - k, D[k:]) + [MTH(D[:k])]


def SUBPROOF(m: int, D: list[bytes], b: bool) -> list[bytes]:
    n = len(D)
    if m == n:
        return [] if b else [MTH(D)]
    k = k_of(n)
    if m <= k:
        return SUBPROOF(m, D[:k], b) + [MTH(D[k:])]
    return SUBPROOF(m - k, D[k:], False) + [MTH(D[:k])]


def PROOF(m: int, D: list[bytes]) -> list[bytes]:
    return SUBPROOF(m, D, True)


def rfc_verify_inclusion(leaf_index, tree_size, leaf_data, inclusion_path, root_hash) -> bool:
    """§2.1.3.2, step by step."""
    if leaf_index >= tree_size:
        return False
    fn, sn = leaf_index, tree_size - 1
    r = HASH(b"\x00" + leaf_data)
    for p in inclusion_path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = HASH(b"\x01" + p + r)
            if fn % 2 == 0:
                while not (fn % 2 == 1 or fn == 0):
                    fn //= 2
                    sn //= 2
        else:
            r = HASH(b"\x01" + r + p)
        fn //= 2
        sn //= 2
    return sn == 0 and r == root_hash


def rfc_verify_consistency(first, second, first_hash, second_hash, consistency_path) -> bool:
    """§2.1.4.2, step by step (for 0 < first < second)."""
    if not consistency_path:
        return False
    path = list(consistency_path)
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    if fn % 2 == 1:
        while fn % 2 == 1:
            fn //= 2
            sn //= 2
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = HASH(b"\x01" + c + fr)
            sr = HASH(b"\x01" + c + sr)
            if fn % 2 == 0:
                while not (fn % 2 == 1 or fn == 0):
                    fn //= 2
                    sn //= 2
        else:
            sr = HASH(b"\x01" + sr + c)
        fn //= 2
        sn //= 2
    return fr == first_hash and sr == second_hash and sn == 0


# --- the module, from stored nodes only ----------------------------------------------------

def stored_tree(leaves: list[bytes]) -> dict:
    nodes = {}
    frontier = merkle.Frontier()
    for data in leaves:
        frontier.append(merkle.leaf_hash(data), lambda level, index, h: nodes.__setitem__((level, index), h))
    return nodes, frontier


def leaves_of(n: int) -> list[bytes]:
    return [f"event {i}".encode() for i in range(n)]


def test_the_empty_tree_and_a_known_vector():
    assert merkle.Frontier().root() == hashlib.sha256(b"").digest() == MTH([])
    # RFC 6962 / Certificate Transparency's reference vector: the root of these 8 leaves.
    vector = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
              b"\x50\x51\x52\x53\x54\x55\x56\x57", b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"]
    _, frontier = stored_tree(vector)
    assert frontier.root().hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=130))
def test_roots_of_every_size_equal_the_brute_force_mth(n):
    leaves = leaves_of(n)
    nodes, frontier = stored_tree(leaves)
    assert frontier.root() == MTH(leaves)
    # Only complete subtrees are stored: at most 2n nodes.
    assert len(nodes) < 2 * n
    for size in range(1, n + 1):
        assert merkle.range_hash(merkle.range_nodes(0, size), nodes) == MTH(leaves[:size])
        assert len(merkle.range_nodes(0, size)) == size.bit_count()


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_inclusion_proofs_are_rfc_paths_and_verify(data):
    n = data.draw(st.integers(min_value=1, max_value=130))
    size = data.draw(st.integers(min_value=1, max_value=n))
    m = data.draw(st.integers(min_value=0, max_value=size - 1))
    leaves = leaves_of(n)
    nodes, _ = stored_tree(leaves)
    ranges = merkle.inclusion_ranges(m, size)
    path = merkle.hashes_of(ranges, nodes)
    assert path == PATH(m, leaves[:size])
    root = MTH(leaves[:size])
    assert rfc_verify_inclusion(m, size, leaves[m], path, root)
    assert merkle.verify_inclusion(m, size, merkle.leaf_hash(leaves[m]), path, root)
    # O(log n) stored nodes, whatever the size.
    assert len(merkle.nodes_for(ranges)) <= 2 * size.bit_length()
    assert not rfc_verify_inclusion(m, size, b"another event", path, root)
    if path:
        forged = [path[0][:-1] + bytes([path[0][-1] ^ 1])] + path[1:]
        assert not rfc_verify_inclusion(m, size, leaves[m], forged, root)
        assert not merkle.verify_inclusion(m, size, merkle.leaf_hash(leaves[m]), forged, root)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_consistency_proofs_are_rfc_proofs_and_verify(data):
    second = data.draw(st.integers(min_value=2, max_value=130))
    first = data.draw(st.integers(min_value=1, max_value=second - 1))
    leaves = leaves_of(second)
    nodes, _ = stored_tree(leaves)
    ranges = merkle.consistency_ranges(first, second)
    path = merkle.hashes_of(ranges, nodes)
    assert path == PROOF(first, leaves)
    first_root, second_root = MTH(leaves[:first]), MTH(leaves)
    assert rfc_verify_consistency(first, second, first_root, second_root, path)
    assert merkle.verify_consistency(first, second, first_root, second_root, path)
    assert len(merkle.nodes_for(ranges)) <= 2 * second.bit_length()
    # A rewritten history: the first tree's leaves changed, the new tree built over them.
    rewritten = [b"rewritten"] + leaves[1:]
    rewritten_nodes, _ = stored_tree(rewritten)
    rewritten_path = merkle.hashes_of(ranges, rewritten_nodes)
    assert not rfc_verify_consistency(first, second, first_root, MTH(rewritten), rewritten_path)
    assert not merkle.verify_consistency(first, second, first_root, MTH(rewritten), rewritten_path)


def test_a_consistency_proof_between_equal_sizes_is_empty():
    assert merkle.consistency_ranges(5, 5) == []
    root = MTH(leaves_of(5))
    assert merkle.verify_consistency(5, 5, root, root, [])
    assert not merkle.verify_consistency(5, 5, root, MTH(leaves_of(4)), [])
    assert not merkle.verify_consistency(5, 4, root, root, [])
