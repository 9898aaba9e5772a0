"""A channels subscriber that holds nothing while it waits (for the cyclic garbage collector).

Litestar's :class:`~litestar.channels.Subscriber` runs one task per subscriber for its whole
life: ``async for event in iter_events()`` over an ``asyncio.Queue``. Every event it hands on
leaves a fresh waiting state behind: an ``async_generator_asend``, the ``Queue.get()``
coroutine, its ``Future``, the ``FutureIter`` and the task's wake-up callback, all alive
until that subscriber's next event, seconds later. With 10,000 sockets at 500 messages/s
every socket is woken every few seconds, so these states survive the young collections in
bulk: the collector's young generation held 17,000–25,000 objects at each gen1 collection
(about 7 a socket), and each such collection took 11–30 ms of CPU, 13–63 ms of wall time on
the 2-core bench machine, in all three processes within the same second — the seconds of
the slow p99 (docs/performance.md, "Issue 18, the collector's young generation").

:class:`PushSubscriber` delivers from ``put_nowait`` instead: the event goes on the
subscriber's backlog and a drain task is started if none runs. The task sends everything
waiting, in order, and ends. An idle subscriber holds no task, coroutine or future; what one
delivery allocates is freed by reference counting when it ends, before any collection
sees it.

Same semantics as Litestar's: per subscriber, events in order, one ``on_event`` at a time;
the backlog bounded by ``max_backlog`` (``dropleft`` drops the oldest, ``backoff`` refuses
the new event); ``put(None)`` ends the stream after what is queued before it; ``stop()``
cancels whatever is being delivered; an ``on_event`` that raises ends the deliveries (as
it ended Litestar's worker task). Before :meth:`_start_in_background` (or without it) the
subscriber is Litestar's: ``iter_events`` works as before.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

from litestar.channels import Subscriber


class PushSubscriber(Subscriber):
    def __init__(
        self, plugin: Any, max_backlog: int | None = None, backlog_strategy: Any = "backoff"
    ) -> None:
        super().__init__(plugin, max_backlog=max_backlog, backlog_strategy=backlog_strategy)
        self._max_backlog = max_backlog or 0
        self._dropleft = backlog_strategy == "dropleft"
        self._on_event: Any = None
        self._backlog: deque[bytes] = deque()
        self._ended = False  # put(None) seen, stop() called or on_event raised

    # -- the plugin's side -------------------------------------------------------------------
    def put_nowait(self, item: bytes | None) -> bool:
        if self._on_event is None:
            return super().put_nowait(item)
        if self._ended:
            return False
        if item is None:
            self._ended = True  # the drain ends after what is queued
            return True
        if self._max_backlog and len(self._backlog) >= self._max_backlog:
            if not self._dropleft:
                return False
            self._backlog.popleft()
        self._backlog.append(item)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain())
        return True

    async def put(self, item: bytes | None) -> None:
        if self._on_event is None:
            await super().put(item)
        else:
            self.put_nowait(item)

    @property
    def qsize(self) -> int:
        return len(self._backlog) if self._on_event is not None else super().qsize

    # -- the consumer's side -----------------------------------------------------------------
    def _start_in_background(self, on_event: Any) -> None:
        if self._on_event is not None or self._task is not None:
            raise RuntimeError("Subscriber is already running")
        self._on_event = on_event
        queued = []
        while not self._queue.empty():  # what arrived between subscribing and starting
            queued.append(self._queue.get_nowait())
        for item in queued:
            self.put_nowait(item)

    @property
    def is_running(self) -> bool:
        return self._on_event is not None and not (self._ended and self._task is None)

    async def _drain(self) -> None:
        try:
            while self._backlog:
                await self._on_event(self._backlog.popleft())
        except BaseException:
            self._ended = True
            self._backlog.clear()
            raise
        finally:
            self._task = None

    async def stop(self, join: bool = False) -> None:
        if self._on_event is None:
            await super().stop(join=join)
            return
        task = self._task
        if task is not None and join:
            with contextlib.suppress(Exception):
                await asyncio.shield(task)
            task = self._task
        self._ended = True
        self._backlog.clear()
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
