"""Data back to the supplier: sell-through, stock on hand, hot SKUs, stock-out risk."""

from backend.sellthrough.access import authorised_distributor_ids, entitled

__all__ = ["authorised_distributor_ids", "entitled"]
