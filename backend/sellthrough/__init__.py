"""Data back to the supplier: sell-through, stock on hand, hot SKUs, stock-out risk."""

from backend.sellthrough.access import authorised_distributor_ids, entitled
from backend.sellthrough.service import (
    GROUPS,
    HotSku,
    RiskRow,
    SellThroughRow,
    SellThroughSummary,
    StockRow,
    hot_skus,
    sell_through,
    stock_on_hand,
    stock_out_risk,
    summary,
)

__all__ = [
    "GROUPS",
    "HotSku",
    "RiskRow",
    "SellThroughRow",
    "SellThroughSummary",
    "StockRow",
    "authorised_distributor_ids",
    "entitled",
    "hot_skus",
    "sell_through",
    "stock_on_hand",
    "stock_out_risk",
    "summary",
]
