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


async def seed(database_url: str, **sizes: Any) -> None:
    """The demo network (``sizes``: ``terminals``, ``skus``, ``activity`` of ``seed_demo``)."""
    from backend.demo import seed_demo

    engine = make_engine(database_url)
    try:
        async with make_session_factory(engine)() as session:
            await seed_demo(session, **sizes)
            await session.commit()
    finally:
        await engine.dispose()


@contextmanager
def local_server(workdir: Path, database_url: str | None = None, **sizes: Any) -> Iterator[ServerProcess]:
    """Serve a freshly seeded database (a new SQLite file under ``workdir`` unless given)."""
    url = database_url or f"sqlite+aiosqlite:///{workdir / 'fieldsync.db'}"
    upgrade(url)
    asyncio.run(seed(url, **sizes))
    with ServerProcess(url, workdir) as server:
        yield server
