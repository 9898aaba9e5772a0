"""Tests for backend.evidence.merkle (RFC 9162 Merkle tree and signed tree heads)."""

from __future__ import annotations

import hashlib

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.evidence.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    TreeHead,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    signed_tree_head,
    verify_consistency,
    verify_inclusion,
    verify_tree_head,
)

PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(f"entry-{i}".encode()) for i in range(n)]


def flip_bit(value: bytes, bit: int) -> bytes:
    bit %= len(value) * 8
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# --- reference implementation: the RFC 9162 recursive definitions, verbatim ---------------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = _k(len(d))
    return node_hash(ref_mth(d[:k]), ref_mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return ref_path(m, d[:k]) + [ref_mth(d[k:])]
    return ref_path(m - k, d[k:]) + [ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _k(n)
    if m <= k:
        return ref_subproof(m, d[:k], b) + [ref_mth(d[k:])]
    return ref_subproof(m - k, d[k:], False) + [ref_mth(d[:k])]


# --- hand-computed small trees -----------------------------------------------------------------------


def test_hash_primitives() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    # Well-known CT value: the leaf hash of an empty entry.
    assert leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest() != node_hash(b, a)


def test_small_roots() -> None:
    a, b, c, d, e, f, g = leaves(7)
    h = node_hash
    assert root([]) == EMPTY_ROOT
    assert root([a]) == a
    assert root([a, b]) == h(a, b)
    assert root([a, b, c]) == h(h(a, b), c)
    assert root([a, b, c, d]) == h(h(a, b), h(c, d))
    assert root([a, b, c, d, e]) == h(h(h(a, b), h(c, d)), e)
    assert root([a, b, c, d, e, f, g]) == h(h(h(a, b), h(c, d)), h(h(e, f), g))


def test_rfc6962_example_tree_proofs() -> None:
    # The 7-leaf example tree of RFC 6962 section 2.1.3 (same construction as RFC 9162).
    d = leaves(7)
    a, b, c, dd, e, f, j = d
    g, hh, i = node_hash(a, b), node_hash(c, dd), node_hash(e, f)
    k, ll = node_hash(g, hh), node_hash(i, j)
    assert inclusion_proof(d, 0) == [b, hh, ll]
    assert inclusion_proof(d, 3) == [c, g, ll]
    assert inclusion_proof(d, 4) == [f, j, k]
    assert inclusion_proof(d, 6) == [i, k]
    assert consistency_proof(d, 3) == [c, dd, g, ll]
    assert consistency_proof(d, 4) == [ll]
    assert consistency_proof(d, 6) == [i, j, k]
    assert inclusion_proof(d[:1], 0) == []
    for m in (3, 4, 6):
        assert verify_consistency(m, 7, root(d[:m]), root(d), consistency_proof(d, m))


def test_matches_reference_definitions() -> None:
    for n in range(1, 40):
        d = leaves(n)
        tree = MerkleTree(d)
        assert tree.root() == ref_mth(d)
        for m in range(n):
            assert tree.inclusion_proof(m) == ref_path(m, d)
        for m in range(1, n):
            assert tree.consistency_proof(m) == ref_subproof(m, d, True)


def test_append_matches_bulk_build_and_history() -> None:
    d = leaves(70)
    tree = MerkleTree()
    for i, leaf in enumerate(d):
        assert tree.append(leaf) == i
        assert tree.root() == root(d[: i + 1])
    bulk = MerkleTree(d)
    for size in range(71):
        assert tree.root(size) == bulk.root(size) == ref_mth(d[:size])
    assert tree.inclusion_proof(5, size=9) == ref_path(5, d[:9])
    assert tree.consistency_proof(5, 9) == ref_subproof(5, d[:9], True)
    assert len(tree) == tree.size == 70 and tree.leaf(3) == d[3]


def test_edge_cases_and_bad_input() -> None:
    d = leaves(5)
    r = root(d)
    tree = MerkleTree(d)
    assert tree.consistency_proof(0) == [] and tree.consistency_proof(5) == []
    assert verify_consistency(5, 5, r, r, [])
    assert not verify_consistency(5, 5, r, EMPTY_ROOT, [])
    assert not verify_consistency(5, 5, r, r, [r])
    assert verify_consistency(0, 5, EMPTY_ROOT, r, [])
    assert not verify_consistency(0, 5, r, r, [])
    assert not verify_consistency(3, 5, root(d[:3]), r, [])  # RFC step 1: empty path fails
    assert not verify_consistency(5, 3, r, root(d[:3]), [])
    assert not verify_inclusion(d[0], 5, 5, inclusion_proof(d, 0), r)  # index >= size
    assert not verify_inclusion(d[0], 0, 0, [], EMPTY_ROOT)
    assert not verify_inclusion(d[0][:31], 0, 5, inclusion_proof(d, 0), r)
    assert not verify_inclusion(d[0], 0, 5, [*inclusion_proof(d, 0), d[1]], r)  # too long
    assert not verify_inclusion(d[0], 0, 5, inclusion_proof(d, 0)[:-1], r)  # too short
    with pytest.raises(IndexError):
        tree.inclusion_proof(5)
    with pytest.raises(ValueError):
        tree.root(6)
    with pytest.raises(ValueError):
        tree.consistency_proof(6)
    with pytest.raises(ValueError):
        MerkleTree([b"short"])
    with pytest.raises(ValueError):
        tree.append(b"x" * 31)


def test_hundred_thousand_leaves() -> None:
    d = leaves(100_000)
    tree = MerkleTree(d)
    r = tree.root()
    for index in (0, 1, 4_095, 65_536, 99_999):
        assert verify_inclusion(d[index], index, len(d), tree.inclusion_proof(index), r)
    for old in (1, 65_536, 77_777, 99_999):
        assert verify_consistency(old, len(d), tree.root(old), r, tree.consistency_proof(old))


# --- property tests ----------------------------------------------------------------------------------


@PROPERTY
@given(n=st.integers(1, 300))
def test_every_inclusion_proof_verifies(n: int) -> None:
    d = leaves(n)
    tree = MerkleTree(d)
    r = tree.root()
    for index in range(n):
        assert verify_inclusion(d[index], index, n, tree.inclusion_proof(index), r)


@PROPERTY
@given(n=st.integers(1, 90))
def test_every_consistency_proof_verifies(n: int) -> None:
    tree = MerkleTree(leaves(n))
    roots = [tree.root(size) for size in range(n + 1)]
    for new in range(n + 1):
        for old in range(new + 1):
            assert verify_consistency(old, new, roots[old], roots[new], tree.consistency_proof(old, new))


@PROPERTY
@given(data=st.data(), n=st.integers(2, 300), bit=st.integers(0, 255))
def test_flipped_bit_fails_inclusion(data: st.DataObject, n: int, bit: int) -> None:
    d = leaves(n)
    index = data.draw(st.integers(0, n - 1))
    proof = inclusion_proof(d, index)
    r = root(d)
    target = data.draw(st.sampled_from(["leaf", "root", "proof"]))
    if target == "leaf":
        assert not verify_inclusion(flip_bit(d[index], bit), index, n, proof, r)
    elif target == "root":
        assert not verify_inclusion(d[index], index, n, proof, flip_bit(r, bit))
    else:
        pos = data.draw(st.integers(0, len(proof) - 1))
        proof[pos] = flip_bit(proof[pos], bit)
        assert not verify_inclusion(d[index], index, n, proof, r)


@PROPERTY
@given(data=st.data(), n=st.integers(2, 300), bit=st.integers(0, 255))
def test_flipped_bit_fails_consistency(data: st.DataObject, n: int, bit: int) -> None:
    tree = MerkleTree(leaves(n))
    old = data.draw(st.integers(1, n - 1))
    proof = tree.consistency_proof(old)
    old_root, new_root = tree.root(old), tree.root()
    assert verify_consistency(old, n, old_root, new_root, proof)
    target = data.draw(st.sampled_from(["old", "new", "proof"]))
    if target == "old":
        assert not verify_consistency(old, n, flip_bit(old_root, bit), new_root, proof)
    elif target == "new":
        assert not verify_consistency(old, n, old_root, flip_bit(new_root, bit), proof)
    else:
        pos = data.draw(st.integers(0, len(proof) - 1))
        proof[pos] = flip_bit(proof[pos], bit)
        assert not verify_consistency(old, n, old_root, new_root, proof)


# --- signed tree heads -------------------------------------------------------------------------------


def test_signed_tree_head_roundtrip_and_tamper() -> None:
    key = Ed25519PrivateKey.generate()
    r = root(leaves(10))
    head = signed_tree_head(10, r, 1_700_000_000_000, key)
    assert isinstance(head, TreeHead) and len(head.signature) == 64
    assert verify_tree_head(head, key.public_key())
    raw_public = key.public_key().public_bytes_raw()
    assert verify_tree_head(head, raw_public)
    decoded = msgspec.json.decode(msgspec.json.encode(head), type=TreeHead)
    assert verify_tree_head(decoded, raw_public)

    assert not verify_tree_head(msgspec.structs.replace(head, tree_size=11), raw_public)
    assert not verify_tree_head(msgspec.structs.replace(head, timestamp_ms=head.timestamp_ms + 1), raw_public)
    assert not verify_tree_head(msgspec.structs.replace(head, root_hash=flip_bit(r, 3)), raw_public)
    assert not verify_tree_head(
        msgspec.structs.replace(head, signature=flip_bit(head.signature, 9)), raw_public
    )
    assert not verify_tree_head(head, Ed25519PrivateKey.generate().public_key())
    assert not verify_tree_head(msgspec.structs.replace(head, root_hash=b"short"), raw_public)


def test_signed_tree_head_with_raw_seed_is_deterministic() -> None:
    seed = bytes(range(32))
    head = signed_tree_head(0, EMPTY_ROOT, 0, seed)
    assert head == signed_tree_head(0, EMPTY_ROOT, 0, seed)  # Ed25519 signatures are deterministic
    assert verify_tree_head(head, Ed25519PrivateKey.from_private_bytes(seed).public_key())
    with pytest.raises(ValueError):
        signed_tree_head(-1, EMPTY_ROOT, 0, seed)
    with pytest.raises(ValueError):
        signed_tree_head(1, b"\x00" * 31, 0, seed)
