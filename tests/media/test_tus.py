"""tus 1.0 against a real uvicorn process on 127.0.0.1, driven by the real tuspy client."""

from __future__ import annotations

import base64
import hashlib
import io
import socket
import time
from urllib.parse import urlparse

import httpx
import pytest
from sqlalchemy import func, select
from tusclient import client as tus
from tusclient.exceptions import TusCommunicationError, TusUploadFailed
from tusclient.uploader import Uploader

from backend.media.models import Photo, Upload
from tests.media.conftest import LiveApp, run_db
from tests.media.images import large_photo, photo

TUS = {"Tus-Resumable": "1.0.0"}


class Sha256Uploader(Uploader):
    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


class WrongChecksumUploader(Uploader):
    CHECKSUM_ALGORITHM_PAIR = ("sha256", lambda chunk: hashlib.sha256(chunk + b"x"))


def tus_client(live: LiveApp, username: str = "inspector-north") -> tus.TusClient:
    return tus.TusClient(f"{live.server.url}/media/uploads/", headers=live.server.headers(username))


def upload(live: LiveApp, data: bytes, *, username: str = "inspector-north", **kwargs: object) -> Uploader:
    uploader = tus_client(live, username).uploader(
        file_stream=io.BytesIO(data), metadata={"filename": "shelf.jpg", "filetype": "image/jpeg"}, **kwargs
    )
    uploader.upload()
    return uploader


def sha_of(uploader: Uploader) -> str:
    return uploader.request.response_headers["fieldsync-media-sha256"]


def head(live: LiveApp, url: str, username: str = "inspector-north") -> httpx.Response:
    return httpx.head(url, headers={**TUS, **live.server.headers(username)})


def test_options_advertises_the_extensions(live: LiveApp) -> None:
    response = httpx.options(f"{live.server.url}/media/uploads/")
    assert response.status_code == 204
    assert response.headers["tus-version"] == "1.0.0"
    assert set(response.headers["tus-extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "checksum",
        "expiration",
        "termination",
    }
    assert set(response.headers["tus-checksum-algorithm"].split(",")) == {"sha1", "sha256"}


def test_chunked_upload_with_sha1_checksums_stores_the_photo_and_its_evidence(live: LiveApp) -> None:
    data = photo(1, size=(900, 700))
    uploader = upload(live, data, chunk_size=16 * 1024, upload_checksum=True)
    digest = hashlib.sha256(data).hexdigest()
    assert sha_of(uploader) == digest
    stored = live.var_dir / "media" / "originals" / digest[:2] / digest
    assert stored.read_bytes() == data  # the original is never altered

    async def check(session):  # type: ignore[no-untyped-def]
        row = await session.get(Photo, digest)
        up = await session.scalar(select(Upload).where(Upload.sha256 == digest))
        return row, up

    row, up = run_db(live.db_url, check)
    assert (row.width, row.height, row.orientation) == (700, 900, 6)
    assert row.captured_at == "2024-05-01T10:20:30" and row.camera_model == "FieldCam 3"
    assert row.gps_lat == pytest.approx(52.375) and row.gps_lon == pytest.approx(4.5)
    assert row.device_id and row.uploader_user_id == up.user_id and row.derivatives == "pending"
    assert up.meta == {"filename": "shelf.jpg", "filetype": "image/jpeg"} and up.part_keys == []
    echoed = head(live, uploader.url).headers["upload-metadata"]
    assert sorted(echoed.split(",")) == ["filename c2hlbGYuanBn", "filetype aW1hZ2UvanBlZw=="]
    assert not list((live.var_dir / "media").glob("partial/*/*"))


def test_sha256_checksums_are_accepted(live: LiveApp) -> None:
    data = photo(2)
    client = tus_client(live)
    uploader = Sha256Uploader(
        file_stream=io.BytesIO(data), client=client, chunk_size=10_000, upload_checksum=True
    )
    uploader.upload()
    assert sha_of(uploader) == hashlib.sha256(data).hexdigest()


def test_wrong_checksum_is_refused_and_the_offset_stays(live: LiveApp) -> None:
    client = tus_client(live)
    uploader = WrongChecksumUploader(
        file_stream=io.BytesIO(photo(3)), client=client, chunk_size=8_000, upload_checksum=True
    )
    with pytest.raises(TusUploadFailed) as failed:
        uploader.upload()
    assert failed.value.status_code == 460
    assert b"checksum_mismatch" in failed.value.response_content
    assert head(live, uploader.url).headers["upload-offset"] == "0"


def test_offset_mismatch_is_a_409_with_the_server_offset(live: LiveApp) -> None:
    data = photo(4)
    uploader = tus_client(live).uploader(file_stream=io.BytesIO(data), chunk_size=5_000)
    uploader.upload_chunk()
    assert uploader.offset == 5_000
    uploader.offset = 1_000  # a client that lost track of what the server has
    with pytest.raises(TusUploadFailed) as failed:
        uploader.upload_chunk()
    assert failed.value.status_code == 409
    assert b"upload_offset_mismatch" in failed.value.response_content
    uploader.offset = uploader.get_offset()  # HEAD tells where to resume
    uploader.upload()
    assert sha_of(uploader) == hashlib.sha256(data).hexdigest()


def test_an_upload_over_the_size_limit_is_refused_at_creation(live: LiveApp) -> None:
    data = large_photo(5, 2 * 1024 * 1024 + 1)
    with pytest.raises(TusCommunicationError) as failed:
        upload(live, data)
    assert failed.value.status_code == 413
    assert b"upload_too_large" in failed.value.response_content


def test_a_connection_dropped_mid_chunk_resumes_from_what_arrived(live: LiveApp) -> None:
    data = photo(6, size=(1200, 900))
    uploader = tus_client(live).uploader(file_stream=io.BytesIO(data), chunk_size=len(data))
    upload_url = uploader.create_url()
    headers = live.server.headers("inspector-north")
    # Send a PATCH announcing the whole file, deliver half of it, and drop the connection.
    half = len(data) // 2
    host = urlparse(live.server.url)
    request = (
        f"PATCH {urlparse(upload_url).path} HTTP/1.1\r\nHost: {host.netloc}\r\n"
        f"Authorization: {headers['Authorization']}\r\nTus-Resumable: 1.0.0\r\n"
        f"Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host.hostname, host.port)) as sock:
        sock.sendall(request + data[:half])
        time.sleep(0.3)
    offset = 0
    for _ in range(100):  # the server stores what arrived once it notices the disconnect
        offset = int(head(live, upload_url).headers["upload-offset"])
        if offset:
            break
        time.sleep(0.05)
    assert 0 < offset <= half
    resumed = tus_client(live).uploader(file_stream=io.BytesIO(data), url=upload_url, chunk_size=64 * 1024)
    assert resumed.offset == offset
    resumed.upload()
    assert sha_of(resumed) == hashlib.sha256(data).hexdigest()


def test_an_upload_interrupted_between_chunks_resumes_with_a_new_client(live: LiveApp) -> None:
    data = photo(7, size=(1000, 800))
    chunk = len(data) // 4
    first = tus_client(live).uploader(file_stream=io.BytesIO(data), chunk_size=chunk)
    first.upload_chunk()
    first.upload_chunk()
    later = tus_client(live).uploader(file_stream=io.BytesIO(data), url=first.url, chunk_size=chunk)
    assert later.offset == 2 * chunk
    later.upload()
    assert sha_of(later) == hashlib.sha256(data).hexdigest()


def test_the_same_photo_uploaded_twice_is_stored_once(live: LiveApp) -> None:
    data = photo(8)
    digest = hashlib.sha256(data).hexdigest()
    assert sha_of(upload(live, data)) == digest
    assert sha_of(upload(live, data, username="dist-south")) == digest

    async def count(session):  # type: ignore[no-untyped-def]
        photos = await session.scalar(select(func.count()).select_from(Photo).where(Photo.sha256 == digest))
        uploads = await session.scalar(
            select(func.count()).select_from(Upload).where(Upload.sha256 == digest)
        )
        return photos, uploads

    assert run_db(live.db_url, count) == (1, 2)
    assert len(list((live.var_dir / "media" / "originals").rglob(digest))) == 1


def test_a_file_that_is_not_an_image_is_refused_with_a_clear_code(live: LiveApp) -> None:
    uploader = tus_client(live).uploader(file_stream=io.BytesIO(b"%PDF-1.4 not a photo" * 50))
    with pytest.raises(TusUploadFailed) as failed:
        uploader.upload()
    assert failed.value.status_code == 422
    assert b'"not_an_image"' in failed.value.response_content
    assert head(live, uploader.url).status_code == 410


def test_creation_with_upload_and_termination(live: LiveApp) -> None:
    data = photo(9)
    headers = {**TUS, **live.server.headers("inspector-north")}
    created = httpx.post(
        f"{live.server.url}/media/uploads/",
        headers={
            **headers,
            "Upload-Length": str(len(data)),
            "Content-Type": "application/offset+octet-stream",
        },
        content=data[:1000],
    )
    assert created.status_code == 201
    assert created.headers["upload-offset"] == "1000" and "upload-expires" in created.headers
    url = f"{live.server.url}{created.headers['location']}"
    assert httpx.delete(url, headers=headers).status_code == 204
    assert head(live, url).status_code == 410
    # and in one request, with a checksum over the whole body
    checksum = "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()
    whole = httpx.post(
        f"{live.server.url}/media/uploads/",
        headers={
            **headers,
            "Upload-Length": str(len(data)),
            "Upload-Checksum": checksum,
            "Content-Type": "application/offset+octet-stream",
        },
        content=data,
    )
    assert whole.status_code == 201
    assert whole.headers["fieldsync-media-sha256"] == hashlib.sha256(data).hexdigest()
    assert whole.content == b"" and created.content == b""  # a creation reply has no body (not `null`)


def test_uploads_need_a_token_the_tus_header_and_belong_to_their_user(live: LiveApp) -> None:
    base = f"{live.server.url}/media/uploads/"
    assert httpx.post(base, headers={**TUS, "Upload-Length": "10"}).status_code == 401
    no_tus = httpx.post(base, headers={**live.server.headers("inspector-north"), "Upload-Length": "10"})
    assert no_tus.status_code == 412 and no_tus.headers["tus-version"] == "1.0.0"
    uploader = tus_client(live).uploader(file_stream=io.BytesIO(photo(10)), chunk_size=1000)
    uploader.upload_chunk()
    assert head(live, uploader.url, "dist-south").status_code == 404
    stolen = httpx.patch(
        uploader.url,
        headers={
            **TUS,
            **live.server.headers("dist-south"),
            "Upload-Offset": "1000",
            "Content-Type": "application/offset+octet-stream",
        },
        content=b"x" * 10,
    )
    assert stolen.status_code == 404
    bad_type = httpx.patch(
        uploader.url,
        headers={**TUS, **live.server.headers("inspector-north"), "Upload-Offset": "1000"},
        content=b"x",
    )
    assert bad_type.status_code == 415
