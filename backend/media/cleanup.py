"""Expiry: unfinished uploads past their ``Upload-Expires``, and photos nothing ever referenced.

A photo attached to a record, or named by an evidence entry, is never removed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.evidence.models import EvidenceEntry
from backend.media.derivatives import VARIANTS
from backend.media.models import MediaAttachment, Photo, Upload
from backend.media.storage import Storage, derivative_key, original_key, partial_prefix

# Rejected or terminated uploads stay a while so a client asking about them gets "410 Gone".
FINISHED_UPLOAD_GRACE = timedelta(days=1)


async def expire_uploads(session: AsyncSession, storage: Storage, now: datetime, *, limit: int = 500) -> int:
    """Delete expired unfinished uploads (and their chunks); return how many."""
    stale = (
        await session.scalars(
            select(Upload)
            .where(
                or_(
                    (Upload.status == "uploading") & (Upload.expires_at < now),
                    Upload.status.in_(("rejected", "terminated"))
                    & (Upload.created_at < now - FINISHED_UPLOAD_GRACE),
                )
            )
            .limit(limit)
        )
    ).all()
    for upload in stale:
        for key in await storage.list(partial_prefix(upload.id)):
            await storage.delete(key)
        await session.delete(upload)
    await session.flush()
    return len(stale)


async def remove_orphan_photos(
    session: AsyncSession, storage: Storage, now: datetime, *, ttl_s: int, limit: int = 200
) -> int:
    """Delete photos uploaded over ``ttl_s`` ago that no record references (``ttl_s`` 0: never)."""
    if ttl_s <= 0:
        return 0
    candidates = (
        await session.scalars(
            select(Photo.sha256)
            .where(
                Photo.uploaded_at < now - timedelta(seconds=ttl_s),
                ~exists().where(MediaAttachment.sha256 == Photo.sha256),
            )
            .limit(limit)
        )
    ).all()
    removed = 0
    for sha256 in candidates:
        in_log = await session.scalar(
            select(EvidenceEntry.index).where(EvidenceEntry.photo_hashes.contains(sha256)).limit(1)
        )
        if in_log is not None:
            continue
        await session.execute(delete(Photo).where(Photo.sha256 == sha256))
        await session.execute(delete(Upload).where(Upload.sha256 == sha256))
        for key in [original_key(sha256), *(derivative_key(sha256, v) for v in VARIANTS)]:
            await storage.delete(key)
        removed += 1
    return removed
