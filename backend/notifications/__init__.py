"""Push notifications: the outbox, its workers and the gateway that talks to FCM."""

from backend.notifications.models import PushOutbox, PushPreference

__all__ = ["PushOutbox", "PushPreference"]
