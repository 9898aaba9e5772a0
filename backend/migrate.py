"""Applying and checking Alembic migrations from code (CLI, start-up, health)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

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


@functools.lru_cache(maxsize=8)
def _known(database_url: str) -> frozenset[str]:
    """Every revision this code has a migration for."""
    script = ScriptDirectory.from_config(alembic_config(database_url))
    return frozenset(r.revision for r in script.walk_revisions())


SchemaState = Literal["current", "pending", "ahead", "diverged"]
SCHEMA_STATES: tuple[SchemaState, ...] = ("current", "pending", "ahead", "diverged")


@dataclass(frozen=True, slots=True)
class Schema:
    """Where the database's schema stands against this code's migrations.

    * ``current``: at this code's head.
    * ``pending``: behind it (every revision it holds is one this code knows, or none at all):
      ``fieldsync migrate`` has not run for this release yet.
    * ``ahead``: at revisions this code has never seen: a newer release migrated it (a rolling
      upgrade, old processes draining; or code rolled back without its migrations).
    * ``diverged``: both at once (revisions of a branch this code does not have).
    """

    state: SchemaState
    database: frozenset[str]
    code: frozenset[str]


def classify(database: set[str] | frozenset[str], code: frozenset[str], known: frozenset[str]) -> SchemaState:
    if database == code:
        return "current"
    unknown = set(database) - known
    if not unknown:
        return "pending"
    return "ahead" if unknown == set(database) else "diverged"


async def schema(engine: AsyncEngine, database_url: str) -> Schema:
    database = frozenset(await current_revisions(engine))
    code = _heads(database_url)
    return Schema(classify(database, code, _known(database_url)), database, code)
