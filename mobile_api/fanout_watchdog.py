"""Keeps this process's Redis subscriber alive: Litestar's channels plugin reads Redis in one task
(``ChannelsPlugin._sub_worker``) that ends, silently, on the first error — a Redis restart, a
``CLIENT KILL``, a network blip — and from then on the process hears nobody (its sockets get
no chat, no pull hints) while it looks healthy.

:class:`SubscriberWatchdog` waits on that task. When it ends with an error the watchdog logs it,
reconnects the pub/sub (redis-py re-subscribes every channel it held on connect), starts a new
reader and counts the restart; while Redis does not answer it retries with back-off and says so
in ``/health/ready`` (``checks.fanout``) and ``/metrics``. Events published while the reader was
down are not replayed (Redis pub/sub keeps none); after each restart ``on_restart`` runs, and the
hub asks every socket of the process to pull (the change feed holds what those events
announced, chat messages included).

It touches two private attributes of Litestar 2's ``ChannelsPlugin`` (``_sub_task``,
``_sub_worker``) and one of its Redis pub/sub backend (``_pub_sub``); ``tests/deploy/
test_fanout_watchdog.py`` kills the subscriber's connection in a real Redis, so a Litestar
change that breaks this fails there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from litestar.channels import ChannelsPlugin
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

log = logging.getLogger("fieldsync.ws")

RETRY_MIN_S = 0.1
RETRY_MAX_S = 5.0


class SubscriberWatchdog:
    """Restarts the channels plugin's Redis reader whenever it dies; ``up`` says whether it runs."""

    def __init__(self, plugin: ChannelsPlugin, on_restart: Callable[[], None] | None = None) -> None:
        self.plugin = plugin
        self.on_restart = on_restart
        self.up = True
        self.restarts = 0
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="fanout-subscriber-watchdog")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @property
    def check(self) -> str:
        """What readiness reports: ``ok``, or why this process hears nothing right now."""
        return "ok" if self.up else f"subscriber down, reconnecting to Redis: {self.last_error}"

    async def _watch(self) -> None:
        while True:
            reader: asyncio.Task[None] | None = self.plugin._sub_task
            if reader is None:  # not started yet (or shutting down)
                await asyncio.sleep(RETRY_MIN_S)
                continue
            await asyncio.wait([reader])
            if reader.cancelled():
                return  # the plugin is shutting down
            error = reader.exception()
            self.up = False
            self.last_error = f"{type(error).__name__}: {error}" if error else "the reader returned"
            log.error(
                "fan-out subscriber died (%s); this process hears no other process until it is back: "
                "restarting it",
                self.last_error,
                exc_info=error,
            )
            await self._reconnect()
            self.plugin._sub_task = asyncio.create_task(self.plugin._sub_worker())
            self.restarts += 1
            self.up = True
            log.warning("fan-out subscriber restarted (restart %d)", self.restarts)
            if self.on_restart is not None:
                self.on_restart()

    async def _reconnect(self) -> None:
        """Re-subscribe every channel on a fresh connection, retrying until Redis answers."""
        pubsub: Any = self.plugin._backend._pub_sub  # type: ignore[attr-defined]
        delay = RETRY_MIN_S
        while True:
            try:
                channels = [c.decode() if isinstance(c, bytes) else c for c in pubsub.channels]
                if pubsub.connection is not None:
                    await pubsub.connection.disconnect()
                if channels:
                    # reconnects (its on-connect hook subscribes all it held), then confirms them
                    await pubsub.subscribe(*channels)
                else:
                    await pubsub.ping()
                return
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("fan-out subscriber: Redis does not answer (%s); retrying", self.last_error)
                await asyncio.sleep(delay)
                delay = min(RETRY_MAX_S, delay * 2)


def watchdog_metrics(watchdog: SubscriberWatchdog | None) -> bytes:
    """``fieldsync_fanout_subscriber_up`` and ``fieldsync_fanout_subscriber_restarts_total``
    (nothing without Redis: the in-memory backend has no reader to lose)."""
    if watchdog is None:
        return b""
    registry = CollectorRegistry()
    Gauge(
        "fieldsync_fanout_subscriber_up",
        "1 while this process's Redis fan-out subscriber runs",
        registry=registry,
    ).set(1 if watchdog.up else 0)
    Counter(
        "fieldsync_fanout_subscriber_restarts",
        "Times the Redis fan-out subscriber died and was restarted",
        registry=registry,
    ).inc(watchdog.restarts)
    return generate_latest(registry)
