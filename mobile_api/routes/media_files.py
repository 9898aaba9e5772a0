"""Serving photos: evidence metadata, the original and its derivatives, only to those allowed to see them."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get
from sqlalchemy.ext.asyncio import AsyncSession

from backend.identity import Actor
from backend.media.derivatives import DERIVATIVE_VERSION, VARIANTS
from backend.media.errors import MediaNotFound
from backend.media.models import Photo
from backend.media.service import visible_photo
from backend.media.storage import BlobMissing, derivative_key, open_storage, original_key
from backend.media.visibility import Uploader, uploader_for
from mobile_api.errors import ApiError
from mobile_api.params import PathId

# Private: only the allowed may see a photo, so shared caches must not keep it; immutable: the
# bytes behind a URL never change (the URL names the content's hash).
CACHE_CONTROL = "private, max-age=31536000, immutable"


class PhotoOut(msgspec.Struct):
    sha256: str
    mime_type: str
    byte_size: int
    width: int
    height: int
    captured_at: str | None
    gps: list[float] | None
    camera_make: str | None
    camera_model: str | None
    uploader_user_id: str
    uploader_org_id: str
    device_id: str | None
    uploaded_at: str
    derivatives: str
    urls: dict[str, str]


def _photo_out(photo: Photo, uploader: Uploader) -> PhotoOut:
    evidence = photo.evidence()
    base = f"/media/photos/{photo.sha256}"
    return PhotoOut(
        sha256=photo.sha256,
        mime_type=photo.mime_type,
        byte_size=photo.byte_size,
        width=photo.width,
        height=photo.height,
        captured_at=photo.captured_at,
        gps=evidence["gps"],
        camera_make=photo.camera_make,
        camera_model=photo.camera_model,
        uploader_user_id=uploader.user_id,
        uploader_org_id=uploader.org_id,
        device_id=uploader.device_id,
        uploaded_at=uploader.uploaded_at.isoformat(),
        derivatives=photo.derivatives,
        urls={"original": f"{base}/original", **{v: f"{base}/{v}" for v in VARIANTS}},
    )


@get("/media/photos/{sha256:str}", tags=["media"])
async def photo_metadata(sha256: PathId, actor: Actor, db_session: AsyncSession) -> PhotoOut:
    """Evidence metadata of a photo (capture time, GPS, camera, uploader, device, upload time)."""
    photo = await visible_photo(db_session, actor, sha256)
    return _photo_out(photo, await uploader_for(db_session, actor, photo))


@get("/media/photos/{sha256:str}/{variant:str}", tags=["media"])
async def photo_bytes(
    request: Request[Any, Any, Any], sha256: PathId, variant: PathId, actor: Actor, db_session: AsyncSession
) -> Response[bytes]:
    """The original (``original``) or a derivative (``thumb`` ~320 px, ``display`` ~1600 px, JPEG)."""
    if variant != "original" and variant not in VARIANTS:
        raise MediaNotFound(f"no variant {variant!r}; use original, {', '.join(VARIANTS)}")
    photo = await visible_photo(db_session, actor, sha256)
    if variant == "original":
        etag, key, media_type = f'"{photo.sha256}"', original_key(photo.sha256), photo.mime_type
    else:
        if photo.derivatives != "ready":
            pending = photo.derivatives == "pending"
            error = ApiError(
                503 if pending else 404,
                f"derivative_{photo.derivatives}",
                f"the {variant} image is {photo.derivatives}",
            )
            error.headers = {"Retry-After": "2"} if pending else None
            raise error
        etag = f'"{photo.sha256}-{variant}-{DERIVATIVE_VERSION}"'
        key, media_type = derivative_key(photo.sha256, variant), "image/jpeg"
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(b"", status_code=304, headers=headers)
    try:
        body = await open_storage(request.app.state.settings).get(key)
    except BlobMissing:
        raise MediaNotFound("the stored file is missing") from None
    return Response(body, media_type=media_type, headers=headers)


ROUTES: list[Any] = [photo_metadata, photo_bytes]
