"""Catalog and channel: what may be sold, by whom, where, at what price and how much."""

from backend.catalog.models import Category, ChannelAuthorisation, PriceEntry, Product, RegionalQuota

__all__ = ["Category", "ChannelAuthorisation", "PriceEntry", "Product", "RegionalQuota"]
