"""Per-device push rate: a sliding one-minute window of mutations, kept in the server process."""

from __future__ import annotations

import time
from collections import deque

from backend.config import Settings
from backend.identity import Actor
from sync.errors import PushRateLimited

WINDOW_S = 60.0
_windows: dict[tuple[str, str], deque[tuple[float, int]]] = {}


def check_push_rate(actor: Actor, client_id: str, count: int, settings: Settings) -> None:
    """Refuse (429, nothing applied) a push that would exceed the device's per-minute budget."""
    limit = settings.sync_mutations_per_minute
    if limit <= 0:
        return
    now = time.monotonic()
    window = _windows.setdefault((actor.user_id, actor.device_id or client_id), deque())
    while window and window[0][0] <= now - WINDOW_S:
        window.popleft()
    used = sum(n for _t, n in window)
    if used + count > limit:
        retry = int(window[0][0] + WINDOW_S - now) + 1 if window else int(WINDOW_S)
        raise PushRateLimited(
            f"this device pushed {used} mutations in the last minute (limit {limit}); retry later",
            details={"retry_after_s": retry, "limit_per_minute": limit},
        )
    window.append((now, count))


def reset_windows() -> None:
    """Forget every device's window (tests start clean)."""
    _windows.clear()
