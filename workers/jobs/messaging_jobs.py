"""Messaging jobs: push delivery, SLA escalation (issue 6)."""

from __future__ import annotations

from workers.spec import JobSpec

JOBS: list[JobSpec] = []
