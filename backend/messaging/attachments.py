"""Photos in messages: a message's attachments become media attachments of record type
``message``, so whoever may read the conversation (its members, agents for a support one) may
see the photo and its thumbnails. Only photos the sender may see themselves are linked: a hash
copied from elsewhere gives nobody new access.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.identity import Actor
from backend.media.models import MediaAttachment, Photo
from backend.media.visibility import can_view_photo, register_record_type
from backend.messaging import errors
from backend.messaging.models import Message

RECORD_TYPE = "message"


async def can_view_message(session: AsyncSession, actor: Actor, message_id: str) -> bool:
    from backend.messaging.service import visible_conversation

    msg = await session.get(Message, message_id)
    if msg is None:
        return False
    try:
        await visible_conversation(session, actor, msg.conversation_id)
    except errors.ConversationNotFound:
        return False
    return True


register_record_type(RECORD_TYPE, can_view_message)


async def link_photos(session: AsyncSession, sent: Sequence[tuple[Actor, Message]]) -> None:
    """Attach the stored photos named by new messages to them (nothing to do for text)."""
    with_photos = [(a, m) for a, m in sent if m.attachments]
    if not with_photos:
        return
    hashes = {h for _, m in with_photos for h in m.attachments}
    stored = set((await session.execute(select(Photo.sha256).where(Photo.sha256.in_(hashes)))).scalars())
    rows = []
    for actor, msg in with_photos:
        for sha in dict.fromkeys(msg.attachments):
            if sha in stored and await can_view_photo(session, actor, sha):
                rows.append(
                    MediaAttachment(
                        sha256=sha,
                        record_type=RECORD_TYPE,
                        record_id=msg.id,
                        attached_by_user_id=actor.user_id,
                        attached_by_org_id=actor.org_id,
                    )
                )
    session.add_all(rows)
    await session.flush()
