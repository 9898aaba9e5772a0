"""Messages: append-only, idempotent on the client's message id, ordered per conversation."""

from __future__ import annotations

from typing import Annotated

import msgspec

from backend.messaging import service as messaging
from backend.messaging.models import Message
from sync.mutations.registry import Args, MutationContext, mutation
from sync.mutations.types import ClientId, Id


class MessageSend(Args):
    conversation_id: Id
    client_message_id: ClientId
    body: Annotated[str, msgspec.Meta(max_length=20_000)] = ""
    attachments: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=64)]], msgspec.Meta(max_length=50)
    ] = []


class MessageRead(Args):
    conversation_id: Id
    up_to_seq: Annotated[int, msgspec.Meta(ge=0)]


@mutation("message.send", MessageSend)
async def message_send(ctx: MutationContext, args: MessageSend) -> dict:
    """Send a message; the server assigns its place (``seq``) in the conversation."""
    message = await messaging.send_message(
        ctx.session,
        ctx.actor,
        conversation_id=args.conversation_id,
        client_message_id=args.client_message_id,
        body=args.body,
        attachments=args.attachments,
    )
    return sent_result(message)


def sent_result(message: Message) -> dict:
    """What an applied ``message.send`` answers (one by one and as a set)."""
    return {"message_id": message.id, "seq": message.seq}


@mutation("message.read", MessageRead)
async def message_read(ctx: MutationContext, args: MessageRead) -> dict:
    """Move the caller's read marker forward (never back)."""
    seq = await messaging.mark_read(
        ctx.session, ctx.actor, conversation_id=args.conversation_id, up_to_seq=args.up_to_seq
    )
    return {"read_seq": seq}
