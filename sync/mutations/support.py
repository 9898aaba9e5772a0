"""Support tickets from the phone: open one offline, idempotent on the phone's conversation id."""

from __future__ import annotations

from typing import Annotated

import msgspec

from backend.messaging import service as messaging
from sync.mutations.registry import Args, MutationContext, mutation
from sync.mutations.types import ClientId

Subject = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Body = Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]


class SupportOpen(Args):
    id: ClientId
    subject: Subject
    body: Body
    client_message_id: ClientId


@mutation("support.open", SupportOpen)
async def support_open(ctx: MutationContext, args: SupportOpen) -> dict:
    """Open a support conversation with its first message; it enters the support queue. The phone
    mints the conversation id, so a retry (or the same id again) opens it once."""
    conv = await messaging.open_support_conversation(
        ctx.session, ctx.actor, conversation_id=args.id, subject=args.subject, body=args.body,
        client_message_id=args.client_message_id,
    )  # fmt: skip
    return {"conversation_id": conv.id, "status": conv.status}
