"""Sync state: per-client applied sequence numbers and stored mutation results."""

from backend.syncstate.models import SyncClient, SyncMutation

__all__ = ["SyncClient", "SyncMutation"]
