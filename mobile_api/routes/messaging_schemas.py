"""Response bodies shared by the chat and the support routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from backend.messaging import Message


class MessageOut(msgspec.Struct):
    id: str
    conversation_id: str
    seq: int
    sender_id: str
    client_message_id: str
    body: str
    attachments: list[str]
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    meta: dict[str, Any] | None = None  # {"kind": "csat", "quick_replies": [...]}: show as buttons

    @classmethod
    def of(cls, m: Message) -> MessageOut:
        return cls(
            m.id,
            m.conversation_id,
            m.seq,
            m.sender_id,
            m.client_message_id,
            m.body,
            list(m.attachments or []),
            m.created_at,
            m.edited_at,
            m.deleted_at,
            m.meta,
        )
