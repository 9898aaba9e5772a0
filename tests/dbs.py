"""Test databases: a migrated SQLite template copied per test, and PostgreSQL emptied per test.

Both can also hand out a database already holding the test network (``seeded=True``): it is
built once per session and copied (SQLite) or restored from a snapshot schema (PostgreSQL), so a
test that asks for ``network`` does not pay for seeding.

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

from backend.db import make_engine, make_session_factory
from backend.migrate import upgrade
from backend.models import metadata

PG_ENV = "FIELDSYNC_TEST_DATABASE_URL"
SNAPSHOT = "seeded_snapshot"


def pg_url() -> str | None:
    """The PostgreSQL test database, one per pytest-xdist worker (``test`` → ``test_gw0``, …)."""
    url = os.environ.get(PG_ENV) or None
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if url is None or not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


async def _seed_network(url: str) -> None:
    from tests.factories import build_network

    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            await build_network(session)
            await session.commit()
    finally:
        await engine.dispose()  # the last connection to close folds SQLite's WAL into the file


class SqliteTemplate:
    def __init__(self, root: Path) -> None:
        self.template = root / "template.db"
        self.seeded_template = root / "seeded.db"
        upgrade(f"sqlite+aiosqlite:///{self.template}")

    def fresh(self, directory: Path, *, seeded: bool = False) -> str:
        if seeded and not self.seeded_template.exists():
            shutil.copyfile(self.template, self.seeded_template)
            asyncio.run(_seed_network(f"sqlite+aiosqlite:///{self.seeded_template}"))
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / "fieldsync.db"
        shutil.copyfile(self.seeded_template if seeded else self.template, target)
        return f"sqlite+aiosqlite:///{target}"


async def _pg_exec(url: str, *statements: str, database: str | None = None) -> list[asyncpg.Record]:
    """Run ``statements``; returns the rows of the last one."""
    u = make_url(url)
    conn = await asyncpg.connect(
        host=u.host or "127.0.0.1",
        port=u.port or 5432,
        user=u.username or "postgres",
        password=u.password,
        database=database or u.database,
    )
    rows: list[asyncpg.Record] = []
    try:
        for statement in statements:
            rows = await conn.fetch(statement)
    finally:
        await conn.close()
    return rows


class PostgresDatabase:
    def __init__(self, url: str) -> None:
        self.url = url
        name = make_url(url).database
        try:
            asyncio.run(_pg_exec(url, "SELECT 1"))
        except asyncpg.InvalidCatalogNameError:
            asyncio.run(_pg_exec(url, f'CREATE DATABASE "{name}"', database="postgres"))
        asyncio.run(
            _pg_exec(
                url,
                f"DROP SCHEMA IF EXISTS {SNAPSHOT} CASCADE",
                "DROP SCHEMA public CASCADE",
                "CREATE SCHEMA public",
            )
        )
        upgrade(url)
        self.tables = [t.name for t in metadata.sorted_tables]
        # DELETE in one transaction is several times faster than TRUNCATE on tables this small.
        self._empty = [f'DELETE FROM "{t}"' for t in reversed(self.tables)]
        counters = asyncio.run(
            _pg_exec(
                url,
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = "
                "'public' AND (column_default LIKE 'nextval%' OR is_identity = 'YES')",
            )
        )
        self._reset_counters = [
            f"SELECT setval(pg_get_serial_sequence('public.\"{r['table_name']}\"', '{r['column_name']}'), "
            f'COALESCE((SELECT max("{r["column_name"]}") FROM public."{r["table_name"]}"), 0) + 1, false)'
            for r in counters
        ]
        self._restore: list[str] | None = None

    def fresh(self, *, seeded: bool = False) -> str:
        if seeded and self._restore is None:
            self._reset()
            asyncio.run(_seed_network(self.url))
            self._restore = self._take_snapshot()
        else:
            self._reset(self._restore if seeded else None)
        return self.url

    def _reset(self, restore: list[str] | None = None) -> None:
        statements = ["BEGIN", *self._empty, *(restore or []), *self._reset_counters, "COMMIT"]
        asyncio.run(_pg_exec(self.url, *statements))

    def _take_snapshot(self) -> list[str]:
        """Copy every table into the snapshot schema; returns the statements that copy it back."""
        copies = [f'CREATE TABLE {SNAPSHOT}."{t}" AS TABLE public."{t}"' for t in self.tables]
        asyncio.run(_pg_exec(self.url, f"CREATE SCHEMA {SNAPSHOT}", *copies))
        return [f'INSERT INTO public."{t}" SELECT * FROM {SNAPSHOT}."{t}"' for t in self.tables]
