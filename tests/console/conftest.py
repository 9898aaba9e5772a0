"""The console tests reuse the live server of the messaging tests."""

from tests.messaging.conftest import live_server

__all__ = ["live_server"]
