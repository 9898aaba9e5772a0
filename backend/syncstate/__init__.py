"""Sync state: per-client applied sequence numbers and stored mutation results."""

from backend.syncstate.models import SyncClient, SyncMutation
from backend.syncstate.pruning import prune_results

__all__ = ["SyncClient", "SyncMutation", "prune_results"]
