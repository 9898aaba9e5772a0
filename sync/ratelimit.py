"""Per-device push rate: mutations per one-minute window, counted where ``backend.limits`` keeps
counters (Redis when set, so every API process shares one budget; else this process)."""

from __future__ import annotations

from backend.config import Settings
from backend.identity import Actor
from backend.limits import counters_for, reset_memory_counters
from sync.errors import PushRateLimited

WINDOW_S = 60


async def check_push_rate(actor: Actor, client_id: str, count: int, settings: Settings) -> None:
    """Refuse (429, nothing applied, nothing counted) a push that would exceed the device's budget."""
    limit = settings.sync_mutations_per_minute
    if limit <= 0:
        return
    key = f"push:{actor.user_id}:{actor.device_id or client_id}"
    taken = await counters_for(settings).take(key, cost=count, limit=limit, window_s=WINDOW_S)
    if not taken.allowed:
        raise PushRateLimited(
            f"this device pushed {taken.used} mutations this minute (limit {limit}); retry later",
            details={"retry_after_s": taken.retry_after_s, "limit_per_minute": limit},
        )


def reset_windows() -> None:
    """Forget every in-process count (tests start clean)."""
    reset_memory_counters()
