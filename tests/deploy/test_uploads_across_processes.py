"""tus uploads behind a load balancer: two API processes on one database and one S3 bucket
(moto's server). Any process continues any upload; two PATCHes of one upload at once are
serialised (the second gets 423 upload_locked); the expiry job removes an abandoned upload's parts.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import boto3
import httpx
import pytest
from sqlalchemy import select, update
from tusclient import client as tus

from backend.config import load_settings
from backend.db import make_engine, make_session_factory, utcnow
from backend.media.models import Photo, Upload
from tests.media.conftest import LiveServer, make_bucket, moto_s3, run_db, start_server, stop_server
from tests.media.images import photo

__all__ = ["moto_s3"]  # the session fixture, used here too

TUS = {"Tus-Resumable": "1.0.0"}


@dataclass
class Pair:
    a: LiveServer
    b: LiveServer
    db_url: str
    media_url: str
    endpoint: str
    var_dir: Path

    @property
    def bucket(self) -> str:
        return self.media_url.split("/")[2]

    def partial_keys(self, upload_id: str) -> list[str]:
        s3 = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")
        listed = s3.list_objects_v2(Bucket=self.bucket, Prefix=f"media/partial/{upload_id}/")
        return [o["Key"] for o in listed.get("Contents", [])]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, moto_s3: str
) -> Iterator[Pair]:
    from tests.factories import build_network

    tmp = tmp_path_factory.mktemp(f"pair-{request.param}")
    if request.param == "sqlite":
        db_url = request.getfixturevalue("sqlite_template").fresh(tmp / "db")
    else:
        pg = request.getfixturevalue("postgres_database")
        if pg is None:
            pytest.skip("PostgreSQL variant: set FIELDSYNC_TEST_DATABASE_URL to run it")
        db_url = pg.fresh()
    run_db(db_url, build_network)
    media_url = make_bucket(moto_s3, f"pair-{uuid.uuid4().hex[:12]}")
    a = start_server(db_url, tmp / "a", media_url=media_url)
    b = start_server(db_url, tmp / "b", media_url=media_url)
    yield Pair(a, b, db_url, media_url, moto_s3, tmp / "var")
    stop_server(a)
    stop_server(b)


def test_an_upload_started_on_one_process_is_finished_on_the_other(pair: Pair) -> None:
    data = photo(71, size=(1200, 900))
    chunk = len(data) // 3 + 1
    user = "inspector-north"
    started = tus.TusClient(f"{pair.a.url}/media/uploads/", headers=pair.a.headers(user)).uploader(
        file_stream=io.BytesIO(data), chunk_size=chunk, metadata={"filetype": "image/jpeg"}
    )
    started.upload_chunk()  # created and the first third written through A
    assert started.url is not None and 0 < started.offset < len(data)
    path = httpx.URL(started.url).path
    # the phone's next request lands on B (same token: any process accepts it)
    resumed = tus.TusClient(f"{pair.b.url}/media/uploads/", headers=pair.a.headers(user)).uploader(
        file_stream=io.BytesIO(data), chunk_size=chunk, url=f"{pair.b.url}{path}"
    )
    assert resumed.offset == started.offset  # HEAD on B sees what A stored
    resumed.upload()
    digest = hashlib.sha256(data).hexdigest()

    async def stored(session):  # type: ignore[no-untyped-def]
        return await session.get(Photo, digest), await session.scalar(
            select(Upload).where(Upload.sha256 == digest)
        )

    found, upload = run_db(pair.db_url, stored)
    assert found is not None and upload.status == "complete" and upload.writer is None
    assert pair.partial_keys(upload.id) == []  # the parts were removed once the photo was stored


async def _slow(first: bytes, rest: bytes, pause_s: float) -> AsyncIterator[bytes]:
    yield first
    await asyncio.sleep(pause_s)
    yield rest


async def test_two_patches_of_one_upload_at_once_one_waits_its_turn(pair: Pair) -> None:
    data = photo(72, size=(900, 700))
    headers = {**TUS, **pair.a.headers("inspector-north")}
    async with httpx.AsyncClient(timeout=30) as http:
        created = await http.post(
            f"{pair.a.url}/media/uploads/", headers={**headers, "Upload-Length": str(len(data))}
        )
        assert created.status_code == 201, created.text
        path = created.headers["Location"]
        patch = {**headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
        half = len(data) // 2
        # A streams the first half slowly; B is asked for the same offset meanwhile
        slow = asyncio.create_task(
            http.patch(f"{pair.a.url}{path}", headers=patch, content=_slow(data[:100], data[100:half], 2.0))
        )
        await asyncio.sleep(0.8)
        loser = await http.patch(f"{pair.b.url}{path}", headers=patch, content=data[:half])
        winner = await slow
        assert winner.status_code == 204, winner.text
        assert int(winner.headers["Upload-Offset"]) == half
        assert loser.status_code == 423, loser.text
        assert loser.json()["code"] == "upload_locked"
        assert int(loser.headers["Retry-After"]) >= 1
        assert loser.headers["Tus-Resumable"] == "1.0.0"
        # the lock is given back: B continues at once from where A stopped
        rest = await http.patch(
            f"{pair.b.url}{path}", headers={**patch, "Upload-Offset": str(half)}, content=data[half:]
        )
        assert rest.status_code == 204, rest.text
        assert rest.headers.get("Fieldsync-Media-Sha256") == hashlib.sha256(data).hexdigest()


async def test_the_expiry_job_removes_an_abandoned_uploads_parts_from_s3(pair: Pair) -> None:
    from workers.jobs.media_jobs import expire_uploads

    data = photo(73, size=(800, 600))
    headers = {**TUS, **pair.b.headers("inspector-north")}
    async with httpx.AsyncClient(timeout=30) as http:
        created = await http.post(
            f"{pair.b.url}/media/uploads/",
            headers={
                **headers,
                "Upload-Length": str(len(data)),
                "Content-Type": "application/offset+octet-stream",
            },
            content=data[:5000],  # creation-with-upload: one part stored, then the phone is gone
        )
    assert created.status_code == 201, created.text
    upload_id = created.headers["Location"].rsplit("/", 1)[1]
    assert len(pair.partial_keys(upload_id)) == 1
    engine = make_engine(pair.db_url)
    try:
        factory = make_session_factory(engine)
        async with factory() as session, session.begin():
            await session.execute(
                update(Upload)
                .where(Upload.id == upload_id)
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
        settings = load_settings(
            {}, database_url=pair.db_url, var_dir=str(pair.var_dir), media_url=pair.media_url
        )
        removed = await expire_uploads(factory, settings)
        async with factory() as session:
            assert await session.get(Upload, upload_id) is None
    finally:
        await engine.dispose()
    assert removed["uploads"] >= 1
    assert pair.partial_keys(upload_id) == []
