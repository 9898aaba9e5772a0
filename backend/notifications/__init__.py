"""Push notifications: the outbox, its workers and the gateway that talks to FCM."""
