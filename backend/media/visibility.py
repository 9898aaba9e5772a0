"""Who may see a photo: the one place media decides it.

Domains register a checker per record type ("acceptance", "inspection", "message", …) when their
service module is imported. A photo is visible to an administrator, to the organisation that uploaded
it, and to anyone whom the checker of *any* record it is attached to lets see that record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.identity import Actor
from backend.media.models import MediaAttachment, Photo, Upload

RecordChecker = Callable[[AsyncSession, Actor, str], Awaitable[bool]]

_CHECKERS: dict[str, RecordChecker] = {}


def register_record_type(record_type: str, can_view: RecordChecker) -> None:
    """Declare how to decide whether an actor may see a record of ``record_type`` (idempotent)."""
    if not record_type or len(record_type) > 40:
        raise ValueError("record_type must be 1..40 characters")
    _CHECKERS[record_type] = can_view


def record_checker(record_type: str) -> RecordChecker | None:
    return _CHECKERS.get(record_type)


def registered_record_types() -> list[str]:
    return sorted(_CHECKERS)


async def can_view_record(session: AsyncSession, actor: Actor, record_type: str, record_id: str) -> bool:
    """Administrators see every record; others what the record type's checker allows (unknown: no)."""
    if actor.is_admin:
        return True
    checker = _CHECKERS.get(record_type)
    return checker is not None and bool(await checker(session, actor, record_id))


async def uploaded_by_org(session: AsyncSession, org_id: str, sha256: str) -> bool:
    """Did ``org_id`` finish an upload of these bytes?"""
    found = await session.scalar(
        select(Upload.id)
        .where(Upload.sha256 == sha256, Upload.org_id == org_id, Upload.status == "complete")
        .limit(1)
    )
    return found is not None


async def can_view_photo(session: AsyncSession, actor: Actor, sha256: str) -> bool:
    if actor.is_admin or await uploaded_by_org(session, actor.org_id, sha256):
        return True
    rows = await session.execute(
        select(MediaAttachment.record_type, MediaAttachment.record_id)
        .where(MediaAttachment.sha256 == sha256)
        .distinct()
    )
    for record_type, record_id in rows:
        if await can_view_record(session, actor, record_type, record_id):
            return True
    return False


class Uploader(NamedTuple):
    """Who sent a photo's bytes, from which device, when: one upload's facts."""

    user_id: str
    org_id: str
    device_id: str | None
    uploaded_at: datetime


async def uploader_for(session: AsyncSession, actor: Actor, photo: Photo) -> Uploader:
    """The upload that describes ``photo`` to ``actor``: upload metadata belongs to the upload, not
    to the content hash, so sending identical bytes never reveals who sent them first.

    Administrators get the first upload (what the evidence log holds); an organisation that
    uploaded these bytes its own earliest upload; someone who sees the photo through a record
    the upload of the organisation that attached it there."""
    first = Uploader(photo.uploader_user_id, photo.uploader_org_id, photo.device_id, photo.uploaded_at)
    if actor.is_admin:
        return first
    own = await _earliest_upload(session, actor.org_id, photo.sha256)
    if own is not None:
        return own
    rows = await session.execute(
        select(MediaAttachment.record_type, MediaAttachment.record_id, MediaAttachment.attached_by_org_id)
        .where(MediaAttachment.sha256 == photo.sha256)
        .order_by(MediaAttachment.attached_at)
    )
    for record_type, record_id, org_id in rows:
        if await can_view_record(session, actor, record_type, record_id):
            found = await _earliest_upload(session, org_id, photo.sha256)
            if found is not None:
                return found
            break
    return first


async def _earliest_upload(session: AsyncSession, org_id: str, sha256: str) -> Uploader | None:
    row = (
        await session.execute(
            select(Upload.user_id, Upload.org_id, Upload.device_id, Upload.completed_at, Upload.created_at)
            .where(Upload.sha256 == sha256, Upload.org_id == org_id, Upload.status == "complete")
            .order_by(Upload.completed_at)
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    return Uploader(row.user_id, row.org_id, row.device_id, row.completed_at or row.created_at)
