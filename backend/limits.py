"""Where rate-limit counters live: in this process's memory (embedded), or in Redis, shared by every
API process, when ``FIELDSYNC_REDIS_URL`` is set.

One small interface, :class:`Counters`, so *which* key a limit counts (a device, an address) is
decided by the caller and *where* it is counted is decided here. Both stores count a **fixed
window**: ``window_s`` seconds aligned to the clock (``floor(now / window_s)``), so every process
agrees which window a request falls in without talking to the others. A take either fits the
window's budget and is counted, or is refused and counted not at all (nothing the client sent was
accepted); the refusal says how many seconds until the window ends (``Retry-After``).

On Redis one take is one ``EVALSHA`` of a short Lua script: check, ``INCRBY`` and ``PEXPIRE`` run
atomically, so N processes never allow more than the limit together.
"""

from __future__ import annotations

import asyncio
import math
import time
import weakref
from dataclasses import dataclass
from typing import Any, Protocol

from backend.config import Settings

KEY_PREFIX = "fieldsync:limit:"


@dataclass(frozen=True, slots=True)
class Take:
    """The outcome of one :meth:`Counters.take`."""

    allowed: bool
    used: int  # counted in this window, including this take when it was allowed
    retry_after_s: int  # whole seconds until the window ends (at least 1)


class Counters(Protocol):
    async def take(self, key: str, *, cost: int, limit: int, window_s: int) -> Take:
        """Count ``cost`` against ``key``'s budget of ``limit`` per ``window_s``, if it fits."""
        ...


def _window(now: float, window_s: int) -> tuple[int, int]:
    """The window's index and the whole seconds left in it (at least 1)."""
    index = int(now // window_s)
    return index, max(1, math.ceil((index + 1) * window_s - now))


class MemoryCounters:
    """Counters of one process (the embedded server, tests)."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}

    async def take(self, key: str, *, cost: int, limit: int, window_s: int) -> Take:
        index, left = _window(time.time(), window_s)
        seen, used = self._counts.get(key, (index, 0))
        if seen != index:
            used = 0
        if used + cost > limit:
            return Take(False, used, left)
        if len(self._counts) > 100_000:  # forget finished windows now and then
            self._counts = {k: v for k, v in self._counts.items() if v[0] >= index}
        self._counts[key] = (index, used + cost)
        return Take(True, used + cost, left)

    def clear(self) -> None:
        self._counts.clear()


# KEYS[1] the window's counter; ARGV: cost, limit, milliseconds until the window ends.
_TAKE_LUA = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local cost = tonumber(ARGV[1])
if used + cost > tonumber(ARGV[2]) then
  return {0, used}
end
used = redis.call('INCRBY', KEYS[1], cost)
if used == cost then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return {1, used}
"""


class RedisCounters:
    """Counters shared by every process that uses the same Redis database."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self._script = redis.register_script(_TAKE_LUA)

    async def take(self, key: str, *, cost: int, limit: int, window_s: int) -> Take:
        now = time.time()
        index, left = _window(now, window_s)
        expire_ms = max(1, int(((index + 1) * window_s - now) * 1000)) + 1000  # a second of slack
        allowed, used = await self._script(keys=[f"{KEY_PREFIX}{key}:{index}"], args=[cost, limit, expire_ms])
        return Take(bool(allowed), int(used), left)


_memory = MemoryCounters()
# One Redis client per event loop and URL (a client's connections belong to the loop they opened on).
_redis: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, RedisCounters]] = (
    weakref.WeakKeyDictionary()
)


def counters_for(settings: Settings) -> Counters:
    """Redis counters when ``settings.redis_url`` is set, else this process's memory."""
    if not settings.redis_url:
        return _memory
    per_loop = _redis.setdefault(asyncio.get_running_loop(), {})
    counters = per_loop.get(settings.redis_url)
    if counters is None:
        from redis.asyncio import Redis

        counters = per_loop[settings.redis_url] = RedisCounters(Redis.from_url(settings.redis_url))
    return counters


def reset_memory_counters() -> None:
    """Forget every in-memory count (tests start clean)."""
    _memory.clear()
