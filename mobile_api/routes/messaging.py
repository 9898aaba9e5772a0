"""Conversations, the WebSocket and the support console."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []
