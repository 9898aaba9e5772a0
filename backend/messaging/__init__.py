"""Messaging: conversations, members, messages, read markers, the support queue."""

from backend.messaging.models import (
    SUPPORT_SCOPE,
    CannedReply,
    Conversation,
    ConversationMember,
    LiveConnection,
    Message,
    MessageRevision,
    SupportNote,
    conv_scope,
)

__all__ = [
    "SUPPORT_SCOPE",
    "CannedReply",
    "Conversation",
    "ConversationMember",
    "LiveConnection",
    "Message",
    "MessageRevision",
    "SupportNote",
    "conv_scope",
]
