"""Test databases: a migrated SQLite template copied per test, and PostgreSQL truncated per test.

PostgreSQL runs when ``FIELDSYNC_TEST_DATABASE_URL`` is set (CI sets it); the database is
created if missing and rebuilt from the migrations once per session.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from backend.migrate import upgrade
from backend.models import metadata

PG_ENV = "FIELDSYNC_TEST_DATABASE_URL"


def pg_url() -> str | None:
    return os.environ.get(PG_ENV) or None


class SqliteTemplate:
    def __init__(self, root: Path) -> None:
        self.template = root / "template.db"
        upgrade(f"sqlite+aiosqlite:///{self.template}")

    def fresh(self, directory: Path) -> str:
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / "fieldsync.db"
        shutil.copyfile(self.template, target)
        return f"sqlite+aiosqlite:///{target}"


async def _pg_exec(url: str, *statements: str, database: str | None = None) -> None:
    u = make_url(url)
    conn = await asyncpg.connect(
        host=u.host or "127.0.0.1",
        port=u.port or 5432,
        user=u.username or "postgres",
        password=u.password,
        database=database or u.database,
    )
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


class PostgresDatabase:
    def __init__(self, url: str) -> None:
        self.url = url
        name = make_url(url).database
        try:
            asyncio.run(_pg_exec(url, "SELECT 1"))
        except asyncpg.InvalidCatalogNameError:
            asyncio.run(_pg_exec(url, f'CREATE DATABASE "{name}"', database="postgres"))
        asyncio.run(_pg_exec(url, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public"))
        upgrade(url)
        tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        self._truncate = f"TRUNCATE {tables} RESTART IDENTITY CASCADE"

    def fresh(self) -> str:
        asyncio.run(_pg_exec(self.url, self._truncate))
        return self.url
