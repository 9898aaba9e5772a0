"""The tamper-evident evidence log: RFC 9162 Merkle tree, signed tree heads, proofs, verification."""

from backend.evidence.models import EvidenceEntry, EvidenceNode, EvidenceTreeHead
from backend.evidence.service import append_record
from backend.evidence.sources import register_record_source

__all__ = ["EvidenceEntry", "EvidenceNode", "EvidenceTreeHead", "append_record", "register_record_source"]
