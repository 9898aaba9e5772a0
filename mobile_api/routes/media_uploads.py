"""tus 1.0 under ``/media/uploads/``: core, creation, creation-with-upload, checksum, expiration, termination.

Every request but OPTIONS needs ``Authorization: Bearer <access token>``; an upload is visible only to
the user who created it. These handlers keep their database transactions short and never hold one
while a body streams in (on SQLite a transaction holds the write lock), so they open sessions
themselves instead of using the request-wide ``db_session``.
"""

from __future__ import annotations

import base64
from email.utils import format_datetime
from typing import Any

from litestar import Request, Response, delete, head, patch, post, route
from litestar.exceptions import InternalServerException
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.bounds import header_int
from backend.config import Settings
from backend.errors import DomainError
from backend.identity import Actor
from backend.media import upload_lock, uploads
from backend.media.errors import ImageInvalid, UploadInvalid, UploadTooLarge
from backend.media.imaging import ImageRejected
from backend.media.models import Upload
from backend.media.storage import Storage, open_storage
from mobile_api.auth import actor_from_connection
from mobile_api.errors import STATUS_BY_KIND
from mobile_api.params import PathId

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,checksum,expiration,termination"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
BASE = "/media/uploads"

# tus-specific statuses for some domain codes; everything else follows mobile_api.errors.
TUS_STATUS = {
    "checksum_mismatch": 460,
    "checksum_algorithm_unsupported": 400,
    "upload_gone": 410,
    "upload_invalid": 400,
    "upload_offset_mismatch": 409,
    "upload_locked": 423,  # another PATCH of this upload is running (any process); retry shortly
}


class TusError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def _headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **extra}


def _upload_headers(upload: Upload) -> dict[str, str]:
    return _headers(
        **{
            "Upload-Offset": str(upload.offset),
            "Upload-Length": str(upload.length),
            "Upload-Expires": format_datetime(upload.expires_at, usegmt=True),
        }
    )


def _error(status: int, code: str, message: str, details: Any = None, **extra: str) -> Response[Any]:
    return Response(
        {"code": code, "message": message, "details": details},
        status_code=status,
        headers=_headers(**extra),
        media_type="application/json",
    )


def _from_domain(exc: DomainError) -> Response[Any]:
    status = TUS_STATUS.get(exc.code) or STATUS_BY_KIND.get(exc.kind, 400)
    extra = {}
    if isinstance(exc.details, dict) and "offset" in exc.details:
        extra["Upload-Offset"] = str(exc.details["offset"])
    if isinstance(exc.details, dict) and "retry_after_s" in exc.details:
        extra["Retry-After"] = str(exc.details["retry_after_s"])
    return _error(status, exc.code, exc.message, exc.details, **extra)


def _factory(request: Request[Any, Any, Any]) -> async_sessionmaker[AsyncSession]:
    return request.app.state.session_factory


def _settings(request: Request[Any, Any, Any]) -> Settings:
    return request.app.state.settings


async def _authenticate(request: Request[Any, Any, Any]) -> Actor:
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise TusError(
            412, "tus_version_unsupported", "send 'Tus-Resumable: 1.0.0'", {"Tus-Version": TUS_VERSION}
        )
    async with _factory(request)() as session:
        return await actor_from_connection(request, session)


def _int_header(request: Request[Any, Any, Any], name: str) -> int:
    value = header_int(request.headers.get(name))
    if value is None:
        raise UploadInvalid(f"{name} must be a whole number (ASCII digits)")
    return value


async def _read_chunk(request: Request[Any, Any, Any], limit: int) -> tuple[bytes, bool]:
    """The request body (at most ``limit`` bytes) and whether the client went away before the end."""
    length = header_int(request.headers.get("content-length"))
    if length is not None and length > limit:
        raise UploadTooLarge(f"the chunk is larger than the {limit} bytes left in the upload")
    chunks: list[bytes] = []
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise UploadTooLarge(f"the chunk is larger than the {limit} bytes left in the upload")
            chunks.append(chunk)
    except InternalServerException:  # "client disconnected prematurely"
        return b"".join(chunks), True
    return b"".join(chunks), False


async def _append(request: Request[Any, Any, Any], actor: Actor, upload: Upload, storage: Storage) -> Upload:
    """Receive one chunk at ``upload.offset``; store it, advance the offset, finish when complete."""
    settings = _settings(request)
    if request.headers.get("content-type", "").split(";")[0].strip() != OFFSET_CONTENT_TYPE:
        raise TusError(415, "unsupported_media_type", f"send the chunk as {OFFSET_CONTENT_TYPE}")
    offset = upload.offset
    data, interrupted = await _read_chunk(request, upload.length - offset)
    checksum = request.headers.get("upload-checksum")
    if interrupted and checksum is not None:
        return upload  # a partial chunk cannot be verified against its checksum: keep nothing
    uploads.check_checksum(checksum, data)
    if not data and offset < upload.length:
        return upload
    key = uploads.chunk_key(upload.id, offset)
    await storage.put(key, data)
    try:
        async with _factory(request)() as session:
            upload = await uploads.commit_chunk(
                session, actor, upload.id, offset=offset, key=key, size=len(data), settings=settings
            )
            rejection, done_with = None, []
            if upload.offset == upload.length:
                outcome, done_with = await uploads.finish_upload(session, storage, upload, settings)
                rejection = outcome if isinstance(outcome, ImageRejected) else None
            await session.commit()
    except BaseException:
        await storage.delete(key)
        raise
    await uploads.delete_parts(storage, done_with)
    if rejection is not None:
        refusal = UploadTooLarge if rejection.code == "upload_too_large" else ImageInvalid
        raise refusal(rejection.message, code=rejection.code)
    return upload


def _completed_headers(upload: Upload) -> dict[str, str]:
    headers = _upload_headers(upload)
    if upload.sha256:
        headers["Fieldsync-Media-Sha256"] = upload.sha256
    return headers


@route(BASE, http_method=["OPTIONS"], tags=["media"], include_in_schema=False)
async def tus_options() -> Response[None]:
    """Server capabilities (no authentication needed)."""
    return Response(
        None,
        status_code=204,
        headers={
            "Tus-Resumable": TUS_VERSION,
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": TUS_EXTENSIONS,
            "Tus-Checksum-Algorithm": ",".join(uploads.CHECKSUM_ALGORITHMS),
        },
    )


@post(BASE, tags=["media"], request_max_body_size=None, status_code=201)
async def tus_create(request: Request[Any, Any, Any]) -> Response[Any]:
    """Create an upload (``Upload-Length``, ``Upload-Metadata``); a body with it is the first chunk."""
    try:
        actor = await _authenticate(request)
        settings = _settings(request)
        if request.headers.get("upload-defer-length"):
            raise UploadInvalid("Upload-Defer-Length is not supported; send Upload-Length")
        length = _int_header(request, "upload-length")
        meta = uploads.parse_metadata(request.headers.get("upload-metadata"))
        async with _factory(request)() as session:
            upload = await uploads.create_upload(session, actor, length=length, meta=meta, settings=settings)
            await session.commit()
        location = {"Location": f"{BASE}/{upload.id}"}
        if request.headers.get("content-type"):  # creation-with-upload
            try:
                upload = await _append(request, actor, upload, open_storage(settings))
            except DomainError as exc:
                response = _from_domain(exc)
                response.headers.update(location)
                return response
        headers = _completed_headers(upload) | location
        if upload.offset == 0:
            headers.pop("Upload-Offset")
        headers.pop("Upload-Length")
        return Response(b"", status_code=201, headers=headers, media_type="text/plain")  # no body, not `null`
    except TusError as exc:
        return _error(exc.status, exc.code, exc.message, **exc.headers)
    except DomainError as exc:
        return _from_domain(exc)


@head(f"{BASE}/{{upload_id:str}}", tags=["media"])
async def tus_head(request: Request[Any, Any, Any], upload_id: PathId) -> Response[None]:
    """The upload's offset: where to resume."""
    try:
        actor = await _authenticate(request)
        async with _factory(request)() as session:
            upload = await uploads.get_upload(session, actor, upload_id)
        headers = _completed_headers(upload)
        if upload.meta:
            headers["Upload-Metadata"] = ",".join(
                f"{key} {base64.b64encode(value.encode()).decode()}".strip()
                for key, value in upload.meta.items()
            )
        return Response(b"", status_code=200, headers=headers, media_type="text/plain")  # no `null`
    except TusError as exc:
        return Response(b"", status_code=exc.status, headers=_headers(**exc.headers), media_type="text/plain")
    except DomainError as exc:
        failed = _from_domain(exc)
        return Response(b"", status_code=failed.status_code, headers=_headers(), media_type="text/plain")


@patch(f"{BASE}/{{upload_id:str}}", tags=["media"], request_max_body_size=None, status_code=200)
async def tus_patch(request: Request[Any, Any, Any], upload_id: PathId) -> Response[Any]:
    """Append a chunk at ``Upload-Offset`` (optionally with ``Upload-Checksum``)."""
    try:
        actor = await _authenticate(request)
        offset = _int_header(request, "upload-offset")
        async with _factory(request)() as session:
            upload = await uploads.get_upload(session, actor, upload_id)
        uploads.check_offset(upload, offset)  # fail fast, before reading the body
        async with upload_lock.writing(_factory(request), upload.id):  # one writer, any process
            upload = await _append(request, actor, upload, open_storage(_settings(request)))
        return Response(None, status_code=204, headers=_completed_headers(upload))
    except TusError as exc:
        return _error(exc.status, exc.code, exc.message, **exc.headers)
    except DomainError as exc:
        return _from_domain(exc)


@delete(f"{BASE}/{{upload_id:str}}", tags=["media"], status_code=200)
async def tus_terminate(request: Request[Any, Any, Any], upload_id: PathId) -> Response[Any]:
    """Cancel an unfinished upload and free its chunks."""
    try:
        actor = await _authenticate(request)
        async with _factory(request)() as session:
            done_with = await uploads.terminate_upload(session, actor, upload_id)
            await session.commit()
        await uploads.delete_parts(open_storage(_settings(request)), done_with)
        return Response(None, status_code=204, headers=_headers())
    except TusError as exc:
        return _error(exc.status, exc.code, exc.message, **exc.headers)
    except DomainError as exc:
        return _from_domain(exc)


ROUTES: list[Any] = [tus_options, tus_create, tus_head, tus_patch, tus_terminate]
