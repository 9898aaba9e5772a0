"""Media services: attach stored photos to records, and read what is attached.

The upload state machine (tus) is in :mod:`backend.media.uploads`; who may see a photo in
:mod:`backend.media.visibility`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.evidence import service as evidence
from backend.identity import Actor
from backend.media.errors import InvalidMediaKind, MediaNotFound, RecordNotFound, UnknownRecordType
from backend.media.models import MediaAttachment, Photo
from backend.media.visibility import can_view_photo, can_view_record, record_checker

ATTACHMENT_KINDS = ("photo", "signature", "document")
_HEX = set("0123456789abcdef")


def is_sha256_hex(value: str) -> bool:
    return len(value) == 64 and set(value) <= _HEX


async def visible_photo(session: AsyncSession, actor: Actor, sha256: str) -> Photo:
    """The stored photo ``sha256`` if ``actor`` may see it; otherwise ``media_not_found`` (no leak)."""
    sha256 = sha256.lower()
    photo = await session.get(Photo, sha256) if is_sha256_hex(sha256) else None
    if photo is None or not await can_view_photo(session, actor, sha256):
        raise MediaNotFound("no such photo, or you may not see it", details={"sha256": sha256})
    return photo


async def attach(
    session: AsyncSession,
    actor: Actor,
    *,
    sha256: str,
    record_type: str,
    record_id: str,
    kind: str = "photo",
) -> MediaAttachment:
    """Attach an uploaded photo to a record the actor can see. Idempotent.

    Raises ``media_not_found`` unless a finished upload with that hash is visible to the actor,
    ``unknown_record_type`` / ``record_not_found`` for a record the actor cannot see. If the record
    is already in the evidence log, the photo is logged in a supplemental entry.
    """
    if kind not in ATTACHMENT_KINDS:
        raise InvalidMediaKind(f"kind must be one of {', '.join(ATTACHMENT_KINDS)}")
    photo = await visible_photo(session, actor, sha256)
    if record_checker(record_type) is None:
        raise UnknownRecordType(f"photos cannot be attached to {record_type!r} records")
    if not await can_view_record(session, actor, record_type, record_id):
        raise RecordNotFound(f"no {record_type} {record_id!r} that you may see")

    attachment = await _find(session, photo.sha256, record_type, record_id, kind)
    if attachment is not None:
        return attachment
    attachment = MediaAttachment(
        sha256=photo.sha256,
        record_type=record_type,
        record_id=record_id,
        kind=kind,
        attached_by_user_id=actor.user_id,
        attached_by_org_id=actor.org_id,
    )
    try:
        async with session.begin_nested():
            session.add(attachment)
    except IntegrityError:  # the same attachment committed concurrently
        found = await _find(session, photo.sha256, record_type, record_id, kind)
        assert found is not None
        return found
    if await evidence.is_logged(session, record_type, record_id) and photo.sha256 not in (
        await evidence.logged_photo_hashes(session, record_type, record_id)
    ):
        await evidence.append_record(
            session,
            record_type=record_type,
            record_id=record_id,
            kind="supplement",
            document={
                "attachment_kind": kind,
                "attached_by_user_id": actor.user_id,
                "photo": photo.evidence(),
            },
            photo_hashes=[photo.sha256],
        )
    return attachment


async def _find(
    session: AsyncSession, sha256: str, record_type: str, record_id: str, kind: str
) -> MediaAttachment | None:
    return await session.scalar(
        select(MediaAttachment).where(
            MediaAttachment.sha256 == sha256,
            MediaAttachment.record_type == record_type,
            MediaAttachment.record_id == record_id,
            MediaAttachment.kind == kind,
        )
    )


async def attached_hashes(
    session: AsyncSession, record_type: str, record_id: str, kind: str | None = None
) -> list[str]:
    """SHA-256 of the photos attached to a record, in the order they were attached."""
    stmt = select(MediaAttachment.sha256).where(
        MediaAttachment.record_type == record_type, MediaAttachment.record_id == record_id
    )
    if kind is not None:
        stmt = stmt.where(MediaAttachment.kind == kind)
    rows = await session.scalars(stmt.order_by(MediaAttachment.attached_at, MediaAttachment.sha256))
    return list(dict.fromkeys(rows))
