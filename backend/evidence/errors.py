"""Errors of the evidence log."""

from backend.errors import InvalidInput, NotFound


class EvidenceNotFound(NotFound):
    code = "evidence_not_found"


class InvalidTreeSize(InvalidInput):
    code = "invalid_tree_size"


class InvalidEvidenceDocument(InvalidInput):
    code = "invalid_evidence_document"
