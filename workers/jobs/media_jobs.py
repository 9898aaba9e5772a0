"""Media jobs: image derivatives, upload expiry, orphan photos, signed tree heads (issue 5)."""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.db import utcnow
from backend.evidence import service as evidence
from backend.media import cleanup
from backend.media.derivatives import make_derivatives
from backend.media.imaging import ImageRejected
from backend.media.models import Photo
from backend.media.storage import BlobMissing, open_storage
from workers.spec import JobSpec

log = logging.getLogger("fieldsync.media")

Factory = async_sessionmaker[AsyncSession]


async def derive_pending(factory: Factory, settings: Settings, *, batch: int = 16) -> int:
    """Make thumbnails and display sizes for photos still ``pending``.

    Rendering happens outside any transaction (several workers may render the same photo; the
    result is identical), and each photo is marked in a short transaction of its own.
    """
    async with factory() as session:
        pending = (
            await session.scalars(select(Photo.sha256).where(Photo.derivatives == "pending").limit(batch))
        ).all()
    storage = open_storage(settings)
    for sha256 in pending:
        status, error = "ready", None
        try:
            await make_derivatives(storage, sha256, max_pixels=settings.image_max_pixels)
        except (ImageRejected, BlobMissing) as exc:
            status, error = "failed", str(exc)[:200]
            log.warning("derivatives of %s failed: %s", sha256, error)
        async with factory() as session:
            await session.execute(
                update(Photo)
                .where(Photo.sha256 == sha256)
                .values(derivatives=status, derivatives_error=error)
            )
            await session.commit()
    return len(pending)


async def expire_uploads(factory: Factory, settings: Settings) -> dict[str, int]:
    storage = open_storage(settings)
    async with factory() as session:
        uploads = await cleanup.expire_uploads(session, storage, utcnow())
        photos = await cleanup.remove_orphan_photos(
            session, storage, utcnow(), ttl_s=settings.media_orphan_ttl_s
        )
        await session.commit()
    return {"uploads": uploads, "photos": photos}


async def sign_tree_head(factory: Factory, settings: Settings) -> int:
    async with factory() as session:
        head = await evidence.sign_tree_head(session, settings)
        await session.commit()
    return head.tree_size if head else 0


JOBS: list[JobSpec] = [
    JobSpec("media_derivatives", derive_pending, 2),
    JobSpec("media_expire_uploads", expire_uploads, 600),
    JobSpec("evidence_sign_tree_head", sign_tree_head, 60),
]
