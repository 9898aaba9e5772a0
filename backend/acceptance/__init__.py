"""Goods acceptance: proof of delivery, per-line discrepancies and claims."""
