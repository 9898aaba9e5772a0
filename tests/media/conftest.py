"""Fixtures for media tests: a real uvicorn server on 127.0.0.1, moto's S3 server, a test record type."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from backend.identity import Actor
from backend.media.visibility import register_record_type
from fieldsync.simulation.server import ServerProcess
from tests.factories import DEMO_PASSWORD

NOTE = "test_note"  # a record type for tests: a note whose record id is the id of the org that owns it


async def _can_view_note(session: AsyncSession, actor: Actor, record_id: str) -> bool:
    return actor.org_id == record_id


register_record_type(NOTE, _can_view_note)


@dataclass
class LiveServer:
    """A real server process (the shared :class:`ServerProcess`) and tokens signed in on it."""

    process: ServerProcess
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.process.url

    def token(self, username: str) -> str:
        if username in self.tokens:
            return self.tokens[username]
        response = httpx.post(
            f"{self.url}/auth/login",
            json={
                "username": username,
                "password": DEMO_PASSWORD,
                "client_id": f"tus-{username}",
                "platform": "android",
            },
        )
        assert response.status_code == 200, response.text
        self.tokens[username] = response.json()["access_token"]
        return self.tokens[username]

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}


def start_server(db_url: str, workdir: Path, **settings: object) -> LiveServer:
    """``uvicorn --factory fieldsync.wiring:app_factory`` in test mode; its var dir is ``workdir/var``."""
    return LiveServer(ServerProcess(db_url, workdir, env="test", **settings))


def stop_server(server: LiveServer) -> None:
    server.process.stop()


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[str]:
    """moto's S3-compatible server on 127.0.0.1 (real HTTP); yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def make_bucket(endpoint: str, name: str) -> str:
    import boto3

    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return f"s3://{name}/media?endpoint_url={endpoint}&region=us-east-1"


def run_db(db_url: str, work):  # type: ignore[no-untyped-def]
    """Run ``await work(session)`` on ``db_url`` from synchronous test code; commit; return the result."""
    import asyncio

    from backend.db import make_engine, make_session_factory

    async def main():  # type: ignore[no-untyped-def]
        engine = make_engine(db_url)
        try:
            async with make_session_factory(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(main())


@dataclass
class LiveApp:
    server: LiveServer
    db_url: str
    var_dir: Path


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """A seeded database and a uvicorn process serving it (uploads limited to 2 MiB)."""
    from tests.factories import build_network

    tmp = tmp_path_factory.mktemp(f"live-{request.param}")
    if request.param == "sqlite":
        db_url = request.getfixturevalue("sqlite_template").fresh(tmp / "db")
    else:
        pg = request.getfixturevalue("postgres_database")
        if pg is None:
            pytest.skip("PostgreSQL variant: set FIELDSYNC_TEST_DATABASE_URL to run it")
        db_url = pg.fresh()
    run_db(db_url, build_network)
    server = start_server(db_url, tmp, upload_max_bytes=2 * 1024 * 1024)
    yield LiveApp(server, db_url, tmp / "var")
    stop_server(server)
