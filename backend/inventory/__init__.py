"""Inventory: stock locations, stock checks (immutable counts), movements and current levels."""

from backend.inventory.models import StockCheck, StockLevel, StockLocation, StockMovement
from backend.inventory.service import location_for, record_movement, record_stock_check

__all__ = [
    "StockCheck",
    "StockLevel",
    "StockLocation",
    "StockMovement",
    "location_for",
    "record_movement",
    "record_stock_check",
]
