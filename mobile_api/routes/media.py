"""tus uploads, media serving and evidence proofs."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []
