"""Workbench: the dashboard figures of distributors and suppliers, computed in SQL."""
