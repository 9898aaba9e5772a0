"""RFC 9162 (Certificate Transparency v2) Merkle tree over SHA-256, plus Ed25519 signed tree heads.

Leaves are *leaf hashes* (``leaf_hash(entry_bytes)``), 32 bytes each. Proof generation follows
RFC 9162 section 2.1.3.1 / 2.1.4.1, verification follows 2.1.3.2 / 2.1.4.2 exactly. Proof lists are
ordered from the leaf level upwards, as in the RFC.

The module-level functions build a :class:`MerkleTree` (O(n)); keep a ``MerkleTree`` around (and
``append`` to it) when asking for many proofs: each proof is then O(log^2 n) hash look-ups.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) = HASH()
TREE_HEAD_DOMAIN = b"fieldsync/evidence-tree-head/v1\n"
_U64_MAX = 2**64 - 1


def leaf_hash(data: bytes) -> bytes:
    """``HASH(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``HASH(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes | bytearray) and len(value) == HASH_SIZE


class MerkleTree:
    """Append-only Merkle tree keeping every complete subtree hash (``levels[k][i]`` covers 2**k leaves).

    Proofs and roots can be requested for any earlier tree size, not only the current one.
    """

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        level = [bytes(h) for h in leaves]
        for h in level:
            if len(h) != HASH_SIZE:
                raise ValueError("leaves must be 32-byte leaf hashes")
        self._levels: list[list[bytes]] = [level]
        while len(level) >= 2:
            level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            self._levels.append(level)

    def __len__(self) -> int:
        return len(self._levels[0])

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def leaf(self, index: int) -> bytes:
        return self._levels[0][index]

    def append(self, leaf: bytes) -> int:
        """Add a leaf hash; return its index. O(log n)."""
        if not _is_hash(leaf):
            raise ValueError("leaves must be 32-byte leaf hashes")
        self._levels[0].append(bytes(leaf))
        k = 0
        while len(self._levels[k]) % 2 == 0:
            parent = node_hash(self._levels[k][-2], self._levels[k][-1])
            if len(self._levels) == k + 1:
                self._levels.append([])
            self._levels[k + 1].append(parent)
            k += 1
        return self.size - 1

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all)."""
        size = self._check_size(size)
        return self._range_hash(0, size) if size else EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[0:size]) (RFC 9162 2.1.3.1)."""
        size = self._check_size(size)
        if not 0 <= index < size:
            raise IndexError(f"leaf index {index} outside tree of size {size}")
        proof: list[bytes] = []
        lo, hi = 0, size
        while hi - lo > 1:
            k = _split(hi - lo)
            if index < lo + k:
                proof.append(self._range_hash(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self._range_hash(lo, lo + k))
                lo += k
        proof.reverse()
        return proof

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[0:new_size]) (RFC 9162 2.1.4.1); empty when old_size is 0 or equal."""
        new_size = self._check_size(new_size)
        if not 0 <= old_size <= new_size:
            raise ValueError(f"old size {old_size} not within 0..{new_size}")
        if old_size in (0, new_size):
            return []
        proof: list[bytes] = []
        lo, hi, m, complete = 0, new_size, old_size, True  # SUBPROOF(m, D[lo:hi], complete)
        while m != hi - lo:
            k = _split(hi - lo)
            if m <= k:
                proof.append(self._range_hash(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self._range_hash(lo, lo + k))
                lo, m, complete = lo + k, m - k, False
        if not complete:
            proof.append(self._range_hash(lo, hi))
        proof.reverse()
        return proof

    def _node(self, level: int, index: int) -> bytes:
        return self._levels[level][index]

    def _check_size(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not 0 <= size <= self.size:
            raise ValueError(f"tree size {size} not within 0..{self.size}")
        return size

    def _range_hash(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for a non-empty range, using stored complete subtrees."""
        n = hi - lo
        if n & (n - 1) == 0 and lo % n == 0:  # aligned complete subtree: stored
            return self._node(n.bit_length() - 1, lo // n)
        k = _split(n)
        return node_hash(self._range_hash(lo, lo + k), self._range_hash(lo + k, hi))


class StoredTree(MerkleTree):
    """A tree of ``size`` leaves backed by a subset of its stored complete subtrees (e.g. from a database).

    Use :func:`nodes_for` to learn which ``(level, index)`` nodes an operation needs, load those, then
    build a ``StoredTree`` over them: proofs then cost O(log n) look-ups instead of the whole tree.
    """

    def __init__(self, size: int, nodes: Mapping[tuple[int, int], bytes]) -> None:
        super().__init__()
        self._size = size
        self._nodes = nodes

    def __len__(self) -> int:
        return self._size

    @property
    def size(self) -> int:
        return self._size

    def leaf(self, index: int) -> bytes:
        return self._nodes[(0, index)]

    def append(self, leaf: bytes) -> int:
        raise TypeError("a StoredTree is read-only")

    def _node(self, level: int, index: int) -> bytes:
        return self._nodes[(level, index)]


class _RecordingNodes(dict[tuple[int, int], bytes]):
    def __missing__(self, key: tuple[int, int]) -> bytes:
        self[key] = EMPTY_ROOT
        return EMPTY_ROOT


def nodes_for(size: int, operation: Callable[[MerkleTree], object]) -> set[tuple[int, int]]:
    """The stored ``(level, index)`` nodes that ``operation`` reads from a tree of ``size`` leaves.

    Which nodes a proof or root reads depends only on sizes and indices, never on hash values, so a
    dry run over placeholder hashes tells what to load.
    """
    recorder = _RecordingNodes()
    operation(StoredTree(size, recorder))
    return set(recorder)


def frontier(size: int) -> list[tuple[int, int]]:
    """The complete subtrees ``(level, index)`` that make up a tree of ``size`` leaves, left to right."""
    nodes, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            nodes.append((level, start >> level))
            start += 1 << level
    return nodes


def root(leaves: Sequence[bytes]) -> bytes:
    """Merkle Tree Hash of a list of leaf hashes (``EMPTY_ROOT`` for no leaves)."""
    return MerkleTree(leaves).root()


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Inclusion proof for ``leaves[index]`` in the tree of all ``leaves``."""
    return MerkleTree(leaves).inclusion_proof(index)


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """Consistency proof between the first ``old_size`` leaves and all ``leaves``."""
    return MerkleTree(leaves).consistency_proof(old_size)


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    """RFC 9162 2.1.3.2: does ``proof`` show ``leaf`` at ``index`` in the tree with ``root_hash``?"""
    if not (_is_hash(leaf) and _is_hash(root_hash) and all(_is_hash(p) for p in proof)):
        return False
    if not 0 <= index < tree_size:
        return False
    fn, sn = index, tree_size - 1
    r = bytes(leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and hmac.compare_digest(r, root_hash)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: is the tree (old_size, old_root) a prefix of (new_size, new_root)?

    Edge cases outside the RFC algorithm: equal sizes need an empty proof and equal roots; an empty
    old tree (root ``EMPTY_ROOT``) is consistent with anything, with an empty proof.
    """
    if not (_is_hash(old_root) and _is_hash(new_root) and all(_is_hash(p) for p in proof)):
        return False
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and hmac.compare_digest(old_root, new_root)
    if old_size == 0:
        return not proof and hmac.compare_digest(old_root, EMPTY_ROOT)
    if not proof:
        return False
    path = [bytes(p) for p in proof]
    if old_size & (old_size - 1) == 0:
        path.insert(0, bytes(old_root))
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and hmac.compare_digest(fr, old_root) and hmac.compare_digest(sr, new_root)


class TreeHead(msgspec.Struct, frozen=True, kw_only=True):
    """A signed statement "the log had ``tree_size`` entries with ``root_hash`` at ``timestamp_ms``"."""

    tree_size: int
    root_hash: bytes
    timestamp_ms: int
    signature: bytes  # Ed25519 over tree_head_message(...)


def tree_head_message(tree_size: int, root_hash: bytes, timestamp_ms: int) -> bytes:
    """Canonical signed bytes: domain tag || uint64 BE tree_size || uint64 BE timestamp_ms || root."""
    if not 0 <= tree_size <= _U64_MAX or not 0 <= timestamp_ms <= _U64_MAX:
        raise ValueError("tree_size and timestamp_ms must fit in an unsigned 64-bit integer")
    if not _is_hash(root_hash):
        raise ValueError("root_hash must be 32 bytes")
    return TREE_HEAD_DOMAIN + struct.pack(">QQ", tree_size, timestamp_ms) + bytes(root_hash)


def signed_tree_head(
    tree_size: int, root_hash: bytes, timestamp_ms: int, key: Ed25519PrivateKey | bytes
) -> TreeHead:
    """Sign a tree head with an Ed25519 private key (object or 32-byte raw seed)."""
    if isinstance(key, bytes | bytearray):
        key = Ed25519PrivateKey.from_private_bytes(bytes(key))
    signature = key.sign(tree_head_message(tree_size, root_hash, timestamp_ms))
    return TreeHead(
        tree_size=tree_size, root_hash=bytes(root_hash), timestamp_ms=timestamp_ms, signature=signature
    )


def verify_tree_head(head: TreeHead, public_key: Ed25519PublicKey | bytes) -> bool:
    """Check the signature of ``head`` against an Ed25519 public key (object or 32 raw bytes)."""
    try:
        if isinstance(public_key, bytes | bytearray):
            public_key = Ed25519PublicKey.from_public_bytes(bytes(public_key))
        message = tree_head_message(head.tree_size, head.root_hash, head.timestamp_ms)
        public_key.verify(head.signature, message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
