"""The change feed: every write to a syncable row, recorded in its own transaction."""

from backend.changefeed.models import ChangeLog, FeedHorizon, ScopeRow
from backend.changefeed.recording import (
    DELETE,
    TOUCHED_SCOPES_KEY,
    UPSERT,
    Change,
    Syncable,
    record_changes,
    row_digest,
    scope_checksum,
    to_json,
    write_changes,
)

__all__ = [
    "DELETE",
    "TOUCHED_SCOPES_KEY",
    "UPSERT",
    "Change",
    "ChangeLog",
    "FeedHorizon",
    "ScopeRow",
    "Syncable",
    "record_changes",
    "row_digest",
    "scope_checksum",
    "to_json",
    "write_changes",
]
