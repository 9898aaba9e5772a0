"""Sync jobs: change-log compaction (issue 8)."""

from __future__ import annotations

from workers.spec import JobSpec

JOBS: list[JobSpec] = []
