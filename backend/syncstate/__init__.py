"""Sync state: per-client applied sequence numbers and stored mutation results."""
