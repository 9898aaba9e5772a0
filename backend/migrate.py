"""Applying and checking Alembic migrations from code (CLI, start-up, health)."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    cfg.attributes["configure_logging"] = False
    return cfg


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Bring the database to the newest revision (creates the SQLite folder if needed)."""
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[-1]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), revision)


def head_revisions(database_url: str) -> set[str]:
    return set(_heads(database_url))


@functools.lru_cache(maxsize=8)
def _heads(database_url: str) -> frozenset[str]:
    """The code's newest revisions, read once per process (the readiness probe asks every second)."""
    return frozenset(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


async def current_revisions(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_heads()))


async def is_current(engine: AsyncEngine, database_url: str) -> bool:
    return await current_revisions(engine) == head_revisions(database_url)
