"""Tables of the evidence log: entries (each with the signed tree head after it) and tree nodes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base


class EvidenceEntry(Base):
    """Entry ``index`` of the log. ``leaf_hash`` = RFC 9162 leaf hash of the entry's canonical leaf
    bytes (``backend.evidence.canonical.leaf_bytes``); ``tree_root`` = root of the tree of size
    ``index + 1``, so a rewritten entry is named exactly even before the next signed tree head."""

    __tablename__ = "evidence_entries"
    __table_args__ = (Index("ix_evidence_entries_record", "record_type", "record_id"),)

    index: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    record_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # record | supplement
    document: Mapped[str] = mapped_column(Text)  # canonical JSON, exactly the bytes that were hashed
    photo_hashes: Mapped[str] = mapped_column(Text)  # canonical JSON list of hex SHA-256
    prev_hash: Mapped[str] = mapped_column(String(64))  # leaf hash of entry index-1 (zeros for 0)
    logged_at: Mapped[datetime] = mapped_column()
    leaf_hash: Mapped[str] = mapped_column(String(64))
    tree_root: Mapped[str] = mapped_column(String(64))


class EvidenceTreeHead(Base):
    """A signed tree head (RFC 9162 style): Ed25519 over ``merkle.tree_head_message``."""

    __tablename__ = "evidence_tree_heads"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[str] = mapped_column(String(64))
    timestamp_ms: Mapped[int] = mapped_column(BigInteger)
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(128))


class EvidenceNode(Base):
    """Stored complete subtrees: ``hash`` covers leaves ``[idx * 2**level, (idx + 1) * 2**level)``."""

    __tablename__ = "evidence_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
