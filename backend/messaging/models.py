"""Tables of messaging: conversations, members (with read markers), messages, their history,
support notes and canned replies.

Scopes phones replicate: a conversation and its messages live in ``conv:<conversation_id>``;
a membership row also lives in ``user:<member>`` so a phone learns of a conversation it was
added to. Support conversations are also in the agents' scope :data:`SUPPORT_SCOPE`, and
internal notes live **only** there: a customer is never entitled to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.changefeed import Syncable
from backend.db import Base, IdStr, JsonDoc, new_id, utcnow

#: Agent-only scope: the support queue and internal notes. Only support agents (and admins)
#: are entitled to it.
SUPPORT_SCOPE = "support:platform"

CONVERSATION_KINDS = ("direct", "group", "support")
MEMBER_ROLES = ("owner", "member", "customer", "agent")
SUPPORT_STATUSES = ("waiting", "claimed", "resolved")


def conv_scope(conversation_id: str) -> str:
    return f"conv:{conversation_id}"


class Conversation(Syncable, Base):
    """A direct, group or support conversation.

    ``last_seq`` hands out the per-conversation message order; it is bumped with a Core
    ``UPDATE`` (a row lock) so it neither bumps ``version`` nor floods the change feed.
    Support fields (``status`` … ``escalated_at``) are only used when ``kind == "support"``.
    """

    __tablename__ = "conversations"
    __sync_entity__ = "conversation"
    __table_args__ = (Index("ix_conversations_kind_last_message_at", "kind", "last_message_at"),)
    __sync_exclude__: ClassVar[frozenset[str]] = frozenset(
        {"last_seq", "escalated_at", "team_id", "snoozed_until", "next_response_due_at", "resolution_due_at"}
    )
    __sync_types__: ClassVar[dict[str, Any]] = {
        "kind": Literal[CONVERSATION_KINDS],
        "status": Literal[SUPPORT_STATUSES] | None,
    }

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_message_at: Mapped[datetime | None] = mapped_column(default=None)
    # direct conversations: a canonical "userA:userB" key so there is only one per pair.
    direct_key: Mapped[str | None] = mapped_column(String(80), unique=True, default=None)
    # support
    customer_org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), default=None)
    status: Mapped[str | None] = mapped_column(String(16), default=None, index=True)
    assignee_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None, index=True)
    waiting_since: Mapped[datetime | None] = mapped_column(default=None)
    first_response_due_at: Mapped[datetime | None] = mapped_column(default=None)
    first_response_at: Mapped[datetime | None] = mapped_column(default=None)
    escalated_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    # the support desk (issue 16; agents only, not replicated)
    team_id: Mapped[str | None] = mapped_column(IdStr, default=None, index=True)
    snoozed_until: Mapped[datetime | None] = mapped_column(default=None)
    next_response_due_at: Mapped[datetime | None] = mapped_column(default=None)
    resolution_due_at: Mapped[datetime | None] = mapped_column(default=None)
    merged_into_id: Mapped[str | None] = mapped_column(IdStr, default=None)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        scopes = {conv_scope(get("id"))}
        if get("kind") == "support":
            scopes.add(SUPPORT_SCOPE)
        return scopes


class ConversationMember(Syncable, Base):
    """A user in a conversation, with their role, read marker and mute switch."""

    __tablename__ = "conversation_members"
    __sync_entity__ = "conversation_member"
    __sync_types__: ClassVar[dict[str, Any]] = {"role": Literal[MEMBER_ROLES]}
    __table_args__ = (
        UniqueConstraint("conversation_id", "user_id"),
        # an agent's unread sum over their tickets without reading the member rows
        Index("ix_conversation_members_user_read", "user_id", "conversation_id", "last_read_seq"),
    )

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="member")
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_read_seq: Mapped[int] = mapped_column(Integer, default=0)
    muted: Mapped[bool] = mapped_column(Boolean, default=False)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        return {conv_scope(get("conversation_id")), f"user:{get('user_id')}"}


class Message(Syncable, Base):
    """One message. Append-only for its order; edits and deletes keep the old text as history."""

    __tablename__ = "messages"
    __sync_entity__ = "message"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("sender_id", "client_message_id"),
    )

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    sender_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    client_message_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    # e.g. {"kind": "csat", "quick_replies": ["1", …, "5"]}: what the phone shows as buttons
    meta: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        return {conv_scope(get("conversation_id"))}


class MessageRevision(Base):
    """The text a message had before an edit or a delete (the history is never lost)."""

    __tablename__ = "message_revisions"

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(8))  # edit | delete
    body: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    revised_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    revised_at: Mapped[datetime] = mapped_column(default=utcnow)


class SupportNote(Syncable, Base):
    """An internal note on a support conversation: agents only, never in a customer's scope."""

    __tablename__ = "support_notes"
    __sync_entity__ = "support_note"

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        return {SUPPORT_SCOPE}


class CannedReply(Base):
    """A reusable reply agents pick in the console."""

    __tablename__ = "canned_replies"

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(120), unique=True)
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LiveConnection(Base):
    """A WebSocket open on some API process; chat pushes skip users who have one.

    Each process refreshes ``seen_at`` of its own rows; rows not seen for a while (a process
    that died) no longer count.
    """

    __tablename__ = "live_connections"

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    node_id: Mapped[str] = mapped_column(String(64), index=True)
    connected_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


from backend.messaging import desk_models  # noqa: E402,F401 - the desk's tables join the metadata
