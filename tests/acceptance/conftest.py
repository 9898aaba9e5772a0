"""Acceptance tests use the orders suite's fixtures (the cast of the seeded network, a session)."""

from tests.orders.conftest import cast, session

__all__ = ["cast", "session"]
