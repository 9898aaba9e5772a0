"""Shared fixtures. Every test that asks for ``db_url`` runs on SQLite and, when
``FIELDSYNC_TEST_DATABASE_URL`` is set, again on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.config import Settings, load_settings
from backend.db import make_engine, make_session_factory
from backend.identity.passwords import use_cheapest_hashing_for_tests
from fieldsync.wiring import build_app
from tests.dbs import PostgresDatabase, SqliteTemplate, pg_url
from tests.factories import Network, load_network

BACKENDS = ["sqlite", "postgresql"]

use_cheapest_hashing_for_tests()


def pytest_report_header(config: pytest.Config) -> list[str]:
    pg, redis = pg_url(), os.environ.get("FIELDSYNC_TEST_REDIS_URL")
    pg_state = f"on {pg}" if pg else "skipped (set FIELDSYNC_TEST_DATABASE_URL)"
    redis_state = f"on {redis}" if redis else "skipped (set FIELDSYNC_TEST_REDIS_URL)"
    return [f"fieldsync: PostgreSQL variants {pg_state}; Redis variants {redis_state}"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_database() -> PostgresDatabase | None:
    url = pg_url()
    return PostgresDatabase(url) if url else None


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database on each backend: empty, or holding the test network when the test
    uses the ``network`` fixture (restored from a copy made once per session)."""
    seeded = "network" in request.fixturenames
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_template").fresh(tmp_path / "db", seeded=seeded)
    pg = request.getfixturevalue("postgres_database")
    if pg is None:
        pytest.skip("PostgreSQL variant: set FIELDSYNC_TEST_DATABASE_URL to run it")
    return pg.fresh(seeded=seeded)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        {},
        env="test",
        database_url=db_url,
        var_dir=str(tmp_path / "var"),
        secret_key="test-secret-key-0123456789abcdef0123456789",
        run_worker_in_process=False,
        requests_per_minute=100_000,
    )


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(settings.resolved_database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_session_factory(engine)


@pytest.fixture
async def network(session_factory: async_sessionmaker[AsyncSession]) -> Network:
    """A small seeded network: 2 suppliers, 6 distributors, 12 shops, 40 SKUs, one user per role."""
    async with session_factory() as session:
        return await load_network(session)


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return build_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as client:
        yield client


@pytest.fixture
def artifacts_dir() -> Iterator[Path]:
    path = Path(__file__).resolve().parent.parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    yield path
