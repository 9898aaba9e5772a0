"""Tables of messaging (filled in by its issue)."""

from __future__ import annotations
