from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import Network
from tests.orders.kit import Cast, cast_of


@pytest.fixture
def cast(network: Network) -> Cast:
    return cast_of(network)


@pytest.fixture
async def session(
    session_factory: async_sessionmaker[AsyncSession], network: Network
) -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session
        await session.rollback()
