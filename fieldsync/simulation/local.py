"""A local server for the simulator: a fresh database, migrated and seeded, served in its own process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from backend.db import make_engine, make_session_factory
from backend.migrate import upgrade
from fieldsync.simulation.server import ServerProcess


async def seed(database_url: str, *, fleet: int = 0, **sizes: Any) -> None:
    """The demo network (``sizes``: ``terminals``, ``skus``, ``activity`` of ``seed_demo``) and
    the users of a fleet of ``fleet`` phones."""
    from backend.demo import seed_demo
    from fieldsync.simulation.fleet import seed_fleet_users

    engine = make_engine(database_url)
    try:
        async with make_session_factory(engine)() as session:
            await seed_demo(session, **sizes)
            await session.flush()
            if fleet:
                await seed_fleet_users(session, fleet)
            await session.commit()
    finally:
        await engine.dispose()


@contextmanager
def local_server(
    workdir: Path, database_url: str | None = None, *, fleet: int = 0, **sizes: Any
) -> Iterator[ServerProcess]:
    """Serve a freshly seeded database (a new SQLite file under ``workdir`` unless given)."""
    url = database_url or f"sqlite+aiosqlite:///{workdir / 'fieldsync.db'}"
    upgrade(url)
    asyncio.run(seed(url, fleet=fleet, **sizes))
    with ServerProcess(url, workdir) as server:
        yield server
