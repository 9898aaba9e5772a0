"""Media jobs: image derivatives, upload expiry (issue 5)."""

from __future__ import annotations

from workers.spec import JobSpec

JOBS: list[JobSpec] = []
