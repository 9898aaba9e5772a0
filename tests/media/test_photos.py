"""Attaching photos, serving them only to those allowed, derivatives and expiry (in-process app)."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from backend.db import utcnow
from backend.evidence.models import EvidenceEntry
from backend.identity import Actor
from backend.media import attach, attached_hashes
from backend.media.derivatives import DERIVATIVE_VERSION
from backend.media.errors import MediaNotFound, RecordNotFound, UnknownRecordType
from backend.media.models import Photo, Upload
from backend.media.storage import open_storage, original_key, partial_prefix
from tests.media.conftest import NOTE
from tests.media.helpers import TUS, sign_in, upload_photo
from tests.media.images import photo
from workers.jobs import media_jobs


def actor_of(network, username: str) -> Actor:  # type: ignore[no-untyped-def]
    user = network.user(username)
    return Actor(user_id=user.id, org_id=user.org_id, org_kind="distributor", role=user.role)


@pytest.fixture
def users(client, network):  # type: ignore[no-untyped-def]
    """``await users(name)``: that user's auth headers (each signs in once, on first use)."""
    cache: dict[str, dict[str, str]] = {}

    async def headers(username: str) -> dict[str, str]:
        if username not in cache:
            cache[username] = (await sign_in(client, username))[username]
        return cache[username]

    return headers


async def test_attach_is_idempotent_scoped_and_serves_only_the_allowed(
    client, network, session_factory, settings, users
) -> None:  # type: ignore[no-untyped-def]
    data = photo(21)
    digest = hashlib.sha256(data).hexdigest()
    created = await upload_photo(client, (await users("inspector-north")), data)
    assert created.status_code == 201, created.text
    north = network.org("dist-00").id if "dist-00" in network.orgs else network.user("dist-north").org_id
    inspector = actor_of(network, "inspector-north")
    south = actor_of(network, "dist-south")

    async with session_factory() as session:
        first = await attach(session, inspector, sha256=digest, record_type=NOTE, record_id=north)
        again = await attach(session, inspector, sha256=digest, record_type=NOTE, record_id=north)
        assert first.id == again.id
        assert await attached_hashes(session, NOTE, north) == [digest]
        with pytest.raises(MediaNotFound):  # dist-south never uploaded it and sees no record with it
            await attach(session, south, sha256=digest, record_type=NOTE, record_id=south.org_id)
        with pytest.raises(RecordNotFound):  # nobody attaches to a record they cannot see
            await attach(session, inspector, sha256=digest, record_type=NOTE, record_id=south.org_id)
        with pytest.raises(UnknownRecordType):
            await attach(session, inspector, sha256=digest, record_type="nope", record_id=north)
        await session.commit()

    url = f"/media/photos/{digest}"
    for allowed in ("inspector-north", "dist-north", "admin"):  # uploader's org, record's org, admin
        meta = await client.get(url, headers=(await users(allowed)))
        assert meta.status_code == 200, allowed
        original = await client.get(f"{url}/original", headers=(await users(allowed)))
        assert original.status_code == 200 and original.content == data
        assert original.headers["etag"] == f'"{digest}"'
        assert "immutable" in original.headers["cache-control"]
    assert meta.json()["captured_at"] == "2024-05-01T10:20:30" and meta.json()["gps"][0] == pytest.approx(
        52.375
    )
    for denied in ("dist-south", "supplier-a"):  # another distributor; a supplier not on the record
        for path in (url, f"{url}/original", f"{url}/thumb"):
            response = await client.get(path, headers=(await users(denied)))
            assert response.status_code == 404 and response.json()["code"] == "media_not_found", (
                denied,
                path,
            )
    assert (await client.get(f"{url}/original")).status_code == 401
    cached = await client.get(
        f"{url}/original", headers={**(await users("dist-north")), "If-None-Match": f'"{digest}"'}
    )
    assert cached.status_code == 304 and cached.content == b""


async def test_derivatives_are_made_by_the_worker_upright_and_stripped(
    client, network, session_factory, settings, users
) -> None:  # type: ignore[no-untyped-def]
    data = photo(22, size=(2400, 1800), orientation=6)
    digest = hashlib.sha256(data).hexdigest()
    assert (await upload_photo(client, (await users("inspector-north")), data)).status_code == 201
    thumb_url = f"/media/photos/{digest}/thumb"
    pending = await client.get(thumb_url, headers=(await users("inspector-north")))
    assert pending.status_code == 503 and pending.json()["code"] == "derivative_pending"

    assert await media_jobs.derive_pending(session_factory, settings) == 1
    sizes = {}
    for variant in ("thumb", "display"):
        response = await client.get(
            f"/media/photos/{digest}/{variant}", headers=(await users("inspector-north"))
        )
        assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
        assert response.headers["etag"] == f'"{digest}-{variant}-{DERIVATIVE_VERSION}"'
        img = Image.open(io.BytesIO(response.content))
        assert not img.getexif() and "icc_profile" not in img.info and "exif" not in img.info
        sizes[variant] = img.size
    assert sizes == {"thumb": (240, 320), "display": (1200, 1600)}  # orientation 6 applied: portrait
    # the original is untouched
    assert await open_storage(settings).get(original_key(digest)) == data


async def test_bad_images_get_clear_codes(client, users) -> None:  # type: ignore[no-untyped-def]
    png = io.BytesIO()
    Image.new("RGB", (50, 50)).save(png, "GIF")
    jpeg = photo(23)
    cases = {
        "not_an_image": b"hello, this is text" * 20,
        "unsupported_format": png.getvalue(),
        "truncated_image": jpeg[: len(jpeg) // 2],
    }
    for code, body in cases.items():
        response = await upload_photo(client, (await users("inspector-north")), body)
        assert response.status_code == 422 and response.json()["code"] == code, (code, response.text)
    too_big = await client.post(
        "/media/uploads/", headers={**(await users("inspector-north")), **TUS, "Upload-Length": str(10**9)}
    )
    assert too_big.status_code == 413 and too_big.json()["code"] == "upload_too_large"


async def test_pixel_bombs_are_refused(client, users) -> None:  # type: ignore[no-untyped-def]
    from tests.media.test_imaging import _png_header_only

    response = await upload_photo(client, (await users("inspector-north")), _png_header_only(20_000, 20_000))
    assert response.status_code == 422 and response.json()["code"] == "image_too_many_pixels"


async def test_expiry_removes_unfinished_uploads_but_never_a_referenced_photo(
    client, network, session_factory, settings, users
) -> None:  # type: ignore[no-untyped-def]
    data = photo(24)
    digest = hashlib.sha256(data).hexdigest()
    assert (await upload_photo(client, (await users("inspector-north")), data)).status_code == 201
    orphan = photo(25)
    assert (await upload_photo(client, (await users("inspector-north")), orphan)).status_code == 201
    inspector = actor_of(network, "inspector-north")
    async with session_factory() as session:
        await attach(session, inspector, sha256=digest, record_type=NOTE, record_id=inspector.org_id)
        await session.commit()
    # the same bytes again, abandoned half-way
    started = await client.post(
        "/media/uploads/",
        headers={**(await users("inspector-north")), **TUS, "Upload-Length": str(len(data))},
        content=data[:500],
    )
    upload_id = started.headers["location"].rsplit("/", 1)[1]
    storage = open_storage(settings)
    assert await storage.list(partial_prefix(upload_id))

    async with session_factory() as session:
        for row in await session.scalars(select(Upload)):
            row.expires_at = utcnow() - timedelta(seconds=1)
        for row in await session.scalars(select(Photo)):
            row.uploaded_at = utcnow() - timedelta(seconds=settings.media_orphan_ttl_s + 1)
        await session.commit()
    late = {**(await users("inspector-north")), **TUS, "Upload-Offset": "500"}
    expired = await client.patch(f"/media/uploads/{upload_id}", headers=late, content=data[500:])
    assert expired.status_code == 410 and expired.json()["details"] == {"reason": "expired"}
    assert await media_jobs.expire_uploads(session_factory, settings) == {"uploads": 1, "photos": 1}
    assert not await storage.list(partial_prefix(upload_id))
    head = await client.head(
        f"/media/uploads/{upload_id}", headers={**(await users("inspector-north")), **TUS}
    )
    assert head.status_code == 404
    async with session_factory() as session:
        assert await session.get(Photo, digest) is not None  # attached: kept
        assert await session.get(Photo, hashlib.sha256(orphan).hexdigest()) is None
    assert await storage.get(original_key(digest)) == data
    served = await client.get(f"/media/photos/{digest}/original", headers=(await users("inspector-north")))
    assert served.status_code == 200


async def test_attaching_to_a_logged_record_appends_a_supplement(
    client, network, session_factory, users
) -> None:  # type: ignore[no-untyped-def]
    from backend.evidence import append_record

    inspector = actor_of(network, "inspector-north")
    first, late = photo(26), photo(27)
    for data in (first, late):
        assert (await upload_photo(client, (await users("inspector-north")), data)).status_code == 201
    h1, h2 = hashlib.sha256(first).hexdigest(), hashlib.sha256(late).hexdigest()
    async with session_factory() as session:
        await attach(session, inspector, sha256=h1, record_type=NOTE, record_id=inspector.org_id)
        hashes = await attached_hashes(session, NOTE, inspector.org_id)
        await append_record(
            session, record_type=NOTE, record_id=inspector.org_id, document={"n": 1}, photo_hashes=hashes
        )
        await attach(session, inspector, sha256=h1, record_type=NOTE, record_id=inspector.org_id)  # no-op
        await attach(session, inspector, sha256=h2, record_type=NOTE, record_id=inspector.org_id)
        await session.commit()
        entries = (await session.scalars(select(EvidenceEntry).order_by(EvidenceEntry.index))).all()
    assert [(e.kind, e.photo_hashes) for e in entries] == [
        ("record", f'["{h1}"]'),
        ("supplement", f'["{h2}"]'),
    ]
    assert '"uploader_user_id"' in entries[1].document and h2 in entries[1].document


async def test_png_webp_and_heic_are_accepted_and_derived(client, session_factory, settings, users) -> None:  # type: ignore[no-untyped-def]
    from tests.media.images import exif
    from tests.media.test_imaging import _heic_or_skip, _split_image

    shots = {
        "image/png": photo(28, fmt="PNG"),
        "image/webp": photo(29, fmt="WEBP"),
        "image/heic": _heic_or_skip(_split_image((800, 600)), exif(6)),
    }
    for mime, data in shots.items():
        response = await upload_photo(client, await users("inspector-north"), data)
        assert response.status_code == 201, (mime, response.text)
    assert await media_jobs.derive_pending(session_factory, settings) == 3
    for mime, data in shots.items():
        digest = hashlib.sha256(data).hexdigest()
        meta = (await client.get(f"/media/photos/{digest}", headers=await users("inspector-north"))).json()
        assert (meta["mime_type"], meta["derivatives"]) == (mime, "ready")
        thumb = await client.get(f"/media/photos/{digest}/thumb", headers=await users("inspector-north"))
        assert Image.open(io.BytesIO(thumb.content)).format == "JPEG"
    heic = (
        await client.get(
            f"/media/photos/{hashlib.sha256(shots['image/heic']).hexdigest()}",
            headers=await users("inspector-north"),
        )
    ).json()
    assert (heic["width"], heic["height"], heic["camera_model"]) == (600, 800, "FieldCam 3")


async def test_a_photo_named_before_its_upload_completes_the_record_without_a_supplement(
    client, network, session_factory, settings, users
) -> None:  # type: ignore[no-untyped-def]
    from backend.evidence import append_record
    from backend.evidence.verify import verify_log

    inspector = actor_of(network, "inspector-north")
    late = photo(30)
    digest = hashlib.sha256(late).hexdigest()
    async with session_factory() as session:  # an offline phone's record names a photo still on the phone
        await append_record(
            session, record_type=NOTE, record_id=inspector.org_id, document={"n": 2}, photo_hashes=[digest]
        )
        await session.commit()
        report = await verify_log(session, open_storage(settings), None)
    assert report.ok and report.photos_pending == [(0, digest)]
    assert (await upload_photo(client, await users("inspector-north"), late)).status_code == 201
    async with session_factory() as session:
        await attach(session, inspector, sha256=digest, record_type=NOTE, record_id=inspector.org_id)
        await session.commit()
        entries = (await session.scalars(select(EvidenceEntry))).all()
        report = await verify_log(session, open_storage(settings), None)
    assert len(entries) == 1  # already committed to by the record's entry
    assert report.ok and report.photos_pending == [] and report.photos == 1
