"""Messaging: conversations, members, messages, read markers, the support queue."""
