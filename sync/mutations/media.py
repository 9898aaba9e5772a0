"""Attaching an uploaded photo to a record (the upload itself goes over tus, not the outbox)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from backend.media import service as media
from sync.mutations.registry import Args, MutationContext, mutation
from sync.mutations.types import Id, Sha256


class MediaAttach(Args):
    sha256: Sha256
    record_type: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    record_id: Id
    kind: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] = "photo"


@mutation("media.attach", MediaAttach)
async def media_attach(ctx: MutationContext, args: MediaAttach) -> dict:
    """Attach a finished upload to a record the caller can see (idempotent)."""
    attachment = await media.attach(
        ctx.session,
        ctx.actor,
        sha256=args.sha256,
        record_type=args.record_type,
        record_id=args.record_id,
        kind=args.kind,
    )
    return {"attachment_id": attachment.id}
