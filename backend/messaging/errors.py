"""Errors of messaging, each with a stable machine code."""

from backend.errors import Conflict, InvalidInput, LimitExceeded, NotFound, PermissionDenied


class ConversationNotFound(NotFound):
    code = "conversation_not_found"


class MessageNotFound(NotFound):
    code = "message_not_found"


class NotAMember(PermissionDenied):
    code = "not_a_member"


class NotAnAgent(PermissionDenied):
    code = "not_a_support_agent"


class CannotContact(PermissionDenied):
    code = "cannot_contact"


class MessageTooLong(LimitExceeded):
    code = "message_too_long"


class EmptyMessage(InvalidInput):
    code = "empty_message"


class InvalidText(InvalidInput):
    code = "invalid_message_text"


class InvalidAttachment(InvalidInput):
    code = "invalid_attachment"


class InvalidConversation(InvalidInput):
    code = "invalid_conversation"


class EditWindowClosed(Conflict):
    code = "edit_window_closed"


class NotYourMessage(PermissionDenied):
    code = "not_your_message"


class ClientMessageIdReused(Conflict):
    code = "client_message_id_reused"


class InvalidTransition(Conflict):
    code = "invalid_support_transition"
