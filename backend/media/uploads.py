"""The tus upload state machine: create, append chunks, finish (validate + store by SHA-256), terminate.

HTTP framing lives in ``mobile_api/routes/media_uploads.py``; this module decides. Each chunk is
stored as its own blob (``partial/<id>/<offset>-<nonce>``) and listed on the upload row only when the
row's offset is advanced under a row lock, so two racing PATCHes at one offset cannot mix bytes, and
an API process behind a load balancer can resume an upload started on another.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import timedelta
from typing import Any

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.bounds import OutOfBounds, check_value
from backend.config import Settings
from backend.db import utcnow
from backend.identity import Actor
from backend.media.errors import (
    ChecksumMismatch,
    ChecksumUnsupported,
    UploadComplete,
    UploadGone,
    UploadInvalid,
    UploadNotFound,
    UploadOffsetMismatch,
    UploadTooLarge,
)
from backend.media.imaging import ImageInfo, ImageRejected, inspect_image
from backend.media.models import Photo, Upload
from backend.media.storage import Storage, original_key, partial_key

CHECKSUM_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
MAX_METADATA_CHARS = 4096


def parse_metadata(header: str | None) -> dict[str, str]:
    """Decode ``Upload-Metadata`` (``key base64value`` pairs separated by commas)."""
    if not header:
        return {}
    if len(header) > MAX_METADATA_CHARS:
        raise UploadInvalid(f"Upload-Metadata is longer than {MAX_METADATA_CHARS} characters")
    meta: dict[str, str] = {}
    for pair in header.split(","):
        key, _, value = pair.strip().partition(" ")
        if not key:
            raise UploadInvalid("Upload-Metadata has an empty key")
        try:
            meta[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8") if value else ""
        except (ValueError, UnicodeDecodeError):
            raise UploadInvalid(f"Upload-Metadata value of {key!r} is not base64 of UTF-8") from None
    try:
        check_value(meta, "Upload-Metadata")
    except OutOfBounds as exc:
        raise UploadInvalid(str(exc)) from None
    return meta


def check_checksum(header: str | None, data: bytes) -> None:
    """Verify an ``Upload-Checksum: <algorithm> <base64 digest>`` header against ``data``."""
    if header is None:
        return
    name, _, digest = header.strip().partition(" ")
    algorithm = CHECKSUM_ALGORITHMS.get(name.lower())
    if algorithm is None:
        raise ChecksumUnsupported(f"checksum algorithm {name!r} is not supported; use sha1 or sha256")
    try:
        expected = base64.b64decode(digest.strip(), validate=True)
    except ValueError:
        raise ChecksumUnsupported("the Upload-Checksum digest is not base64") from None
    if algorithm(data).digest() != expected:
        raise ChecksumMismatch("the chunk does not match its Upload-Checksum; send it again")


async def create_upload(
    session: AsyncSession, actor: Actor, *, length: int, meta: dict[str, Any], settings: Settings
) -> Upload:
    if length < 1:
        raise UploadInvalid("Upload-Length must be a positive whole number")
    if length > settings.upload_max_bytes:
        raise UploadTooLarge(
            f"{length} bytes is over the {settings.upload_max_bytes} byte limit",
            details={"max_bytes": settings.upload_max_bytes},
        )
    upload = Upload(
        user_id=actor.user_id,
        org_id=actor.org_id,
        device_id=actor.device_id,
        length=length,
        offset=0,
        part_keys=[],
        meta=meta,
        status="uploading",
        expires_at=utcnow() + timedelta(seconds=settings.media_upload_expiry_s),
    )
    session.add(upload)
    await session.flush()
    return upload


async def get_upload(session: AsyncSession, actor: Actor, upload_id: str, *, lock: bool = False) -> Upload:
    """The actor's own upload; ``upload_not_found`` for anyone else's (no leak), ``upload_gone`` if over."""
    stmt = select(Upload).where(Upload.id == upload_id)
    if lock:
        stmt = stmt.with_for_update()
    upload = await session.scalar(stmt)
    if upload is None or upload.user_id != actor.user_id:
        raise UploadNotFound("no such upload")
    if upload.status in ("rejected", "terminated") or (
        upload.status == "uploading" and upload.expires_at <= utcnow()
    ):
        raise UploadGone(
            f"the upload is {_gone_reason(upload)}; start a new one", details={"reason": _gone_reason(upload)}
        )
    return upload


def _gone_reason(upload: Upload) -> str:
    return "expired" if upload.status == "uploading" else upload.status


def check_offset(upload: Upload, offset: int) -> None:
    if upload.status == "complete":
        raise UploadComplete("the upload is already complete", details={"offset": upload.offset})
    if offset != upload.offset:
        raise UploadOffsetMismatch(
            f"Upload-Offset {offset} does not match the server's offset {upload.offset}",
            details={"offset": upload.offset},
        )


def chunk_key(upload_id: str, offset: int) -> str:
    return f"{partial_key(upload_id, offset)}-{secrets.token_hex(4)}"


async def commit_chunk(
    session: AsyncSession,
    actor: Actor,
    upload_id: str,
    *,
    offset: int,
    key: str,
    size: int,
    settings: Settings,
) -> Upload:
    """Lock the upload, re-check the offset, and list the stored chunk ``key`` (``size`` bytes) on it."""
    upload = await get_upload(session, actor, upload_id, lock=True)
    check_offset(upload, offset)
    if offset + size > upload.length:
        raise UploadTooLarge(f"the chunk would pass Upload-Length {upload.length}")
    upload.part_keys = [*upload.part_keys, key]
    upload.offset = offset + size
    upload.expires_at = utcnow() + timedelta(seconds=settings.media_upload_expiry_s)
    return upload


async def finish_upload(
    session: AsyncSession, storage: Storage, upload: Upload, settings: Settings
) -> tuple[ImageRejected | Photo, list[str]]:
    """Assemble a complete upload, validate it with Pillow and store the original by its SHA-256.

    Returns the (possibly already stored) :class:`Photo`, or the rejection after marking the upload
    ``rejected``; and the chunk keys the upload no longer lists, to delete once the caller committed
    (deleting them earlier would break a resumed upload if the commit failed).
    """
    data = b"".join([await storage.get(key) for key in upload.part_keys])
    try:
        if len(data) != upload.length:
            raise ImageRejected("truncated_image", f"received {len(data)} of {upload.length} bytes")
        info: ImageInfo = await anyio.to_thread.run_sync(
            lambda: inspect_image(
                data, max_pixels=settings.image_max_pixels, max_bytes=settings.upload_max_bytes
            )
        )
    except ImageRejected as rejection:
        upload.status, upload.reject_code = "rejected", rejection.code
        return rejection, _unlist_parts(upload)

    photo = await session.get(Photo, info.sha256)
    if photo is None:
        if not await storage.exists(original_key(info.sha256)):
            await storage.put(original_key(info.sha256), data)
        photo = _photo(info, upload)
        try:
            async with session.begin_nested():
                session.add(photo)
        except IntegrityError:  # the same bytes finished concurrently
            photo = await session.get(Photo, info.sha256, populate_existing=True)
            assert photo is not None
    upload.status, upload.sha256, upload.completed_at = "complete", info.sha256, utcnow()
    return photo, _unlist_parts(upload)


def _photo(info: ImageInfo, upload: Upload) -> Photo:
    return Photo(
        sha256=info.sha256,
        byte_size=info.byte_size,
        format=info.format,
        mime_type=info.mime_type,
        width=info.width,
        height=info.height,
        orientation=info.orientation,
        captured_at=info.captured_at,
        gps_lat=info.gps[0] if info.gps else None,
        gps_lon=info.gps[1] if info.gps else None,
        camera_make=(info.camera_make or "")[:120] or None,
        camera_model=(info.camera_model or "")[:120] or None,
        uploader_user_id=upload.user_id,
        uploader_org_id=upload.org_id,
        device_id=upload.device_id,
        uploaded_at=utcnow(),
        derivatives="pending",
    )


def _unlist_parts(upload: Upload) -> list[str]:
    keys, upload.part_keys = list(upload.part_keys), []
    return keys


async def delete_parts(storage: Storage, keys: list[str]) -> None:
    for key in keys:
        await storage.delete(key)


async def terminate_upload(session: AsyncSession, actor: Actor, upload_id: str) -> list[str]:
    """Mark the upload terminated; returns its chunk keys, to delete after commit."""
    upload = await get_upload(session, actor, upload_id, lock=True)
    if upload.status == "complete":
        raise UploadComplete("a finished upload cannot be terminated; the photo is kept")
    upload.status = "terminated"
    return _unlist_parts(upload)
