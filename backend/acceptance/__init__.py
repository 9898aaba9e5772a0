"""Goods acceptance: proof of delivery, per-line discrepancies and claims."""

from backend.acceptance.models import Acceptance, AcceptanceLine, Claim

__all__ = ["Acceptance", "AcceptanceLine", "Claim"]
