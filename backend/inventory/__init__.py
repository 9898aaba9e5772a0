"""Inventory: stock locations, immutable stock-check observations, movements and discrepancies."""
