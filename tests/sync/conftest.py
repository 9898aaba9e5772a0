"""Fixtures for the sync engine's tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from sync.client import ReferenceClient
from sync.ratelimit import reset_windows
from tests.sync.helpers import signed_in_phone


@pytest.fixture(autouse=True)
def _fresh_rate_windows() -> None:
    reset_windows()


@pytest.fixture
def phone(client: Any, network: Any) -> Callable[..., Awaitable[ReferenceClient]]:
    """``await phone("field-north")``: a reference client signed in as that demo user."""

    async def make(username: str, **kwargs: Any) -> ReferenceClient:
        return await signed_in_phone(client, username, **kwargs)

    return make
