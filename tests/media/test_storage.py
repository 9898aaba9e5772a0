"""One storage contract, run on the local filesystem and on S3 (moto's server over real HTTP)."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from tusclient import client as tus

from backend.config import load_settings
from backend.media.storage import (
    BlobMissing,
    LocalStorage,
    Storage,
    open_storage,
    original_key,
    storage_from_url,
)
from tests.media.conftest import make_bucket, run_db, start_server, stop_server
from tests.media.images import photo


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "media")
    endpoint = request.getfixturevalue("moto_s3")
    return storage_from_url(make_bucket(endpoint, f"b-{uuid.uuid4().hex[:12]}"))


async def test_put_get_list_delete(storage: Storage) -> None:
    await storage.put("originals/ab/abc", b"one")
    await storage.put("partial/u1/000000000000-aa", b"p1")
    await storage.put("partial/u1/000000000010-bb", b"p2")
    await storage.put("partial/u10/000000000000-cc", b"other upload")
    assert await storage.get("originals/ab/abc") == b"one"
    assert await storage.exists("originals/ab/abc") and not await storage.exists("originals/ab/nope")
    assert await storage.list("partial/u1/") == ["partial/u1/000000000000-aa", "partial/u1/000000000010-bb"]
    await storage.put("originals/ab/abc", b"two")  # overwrite
    assert await storage.get("originals/ab/abc") == b"two"
    await storage.delete("partial/u1/000000000000-aa")
    await storage.delete("partial/u1/never-there")  # deleting nothing is fine
    assert await storage.list("partial/u1/") == ["partial/u1/000000000010-bb"]
    with pytest.raises(BlobMissing):
        await storage.get("partial/u1/000000000000-aa")
    assert await storage.list("nothing/") == []


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "./a"])
async def test_keys_cannot_escape(storage: Storage, key: str) -> None:
    with pytest.raises(ValueError):
        await storage.put(key, b"x")


def test_media_urls() -> None:
    assert isinstance(storage_from_url("file:///tmp/m"), LocalStorage)
    for bad in ("ftp://x/y", "s3:///no-bucket"):
        with pytest.raises(ValueError):
            storage_from_url(bad)


@pytest.fixture
def s3_server(moto_s3: str, sqlite_template, tmp_path: Path) -> Iterator[tuple]:  # type: ignore[no-untyped-def]
    from tests.factories import build_network

    media_url = make_bucket(moto_s3, f"live-{uuid.uuid4().hex[:12]}")
    db_url = sqlite_template.fresh(tmp_path / "db")
    run_db(db_url, build_network)
    server = start_server(db_url, tmp_path, media_url=media_url)
    yield server, db_url, media_url, tmp_path
    stop_server(server)


async def test_uploads_and_derivatives_go_to_s3(s3_server, moto_s3: str) -> None:  # type: ignore[no-untyped-def]
    from workers.jobs.media_jobs import derive_pending

    server, db_url, media_url, tmp_path = s3_server
    data = photo(41, size=(1600, 1200))
    digest = hashlib.sha256(data).hexdigest()
    uploader = tus.TusClient(
        f"{server.url}/media/uploads/", headers=server.headers("inspector-north")
    ).uploader(file_stream=io.BytesIO(data), chunk_size=len(data) // 3 + 1)
    uploader.upload()
    bucket = media_url.split("/")[2]
    s3 = boto3.client("s3", endpoint_url=moto_s3, region_name="us-east-1")
    assert s3.get_object(Bucket=bucket, Key=f"media/{original_key(digest)}")["Body"].read() == data
    assert not s3.list_objects_v2(Bucket=bucket, Prefix="media/partial/").get("Contents")
    assert not (tmp_path / "var" / "media").exists()  # nothing written locally

    settings = load_settings({}, database_url=db_url, var_dir=str(tmp_path / "var"), media_url=media_url)
    from backend.db import make_engine, make_session_factory

    engine = make_engine(db_url)
    try:
        assert await derive_pending(make_session_factory(engine), settings) == 1
    finally:
        await engine.dispose()
    assert await open_storage(settings).list(f"derived/{digest[:2]}/{digest}/") == [
        f"derived/{digest[:2]}/{digest}/display.jpg",
        f"derived/{digest[:2]}/{digest}/thumb.jpg",
    ]
