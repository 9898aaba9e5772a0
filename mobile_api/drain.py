"""Graceful drain on SIGTERM, for rolling deploys and scale-downs behind a load balancer.

1. SIGTERM: ``/health/ready`` answers ``503 {"status": "draining"}`` at once, while the process
   keeps serving for ``FIELDSYNC_DRAIN_DELAY_S`` — long enough for the balancer's health check
   to take it out of rotation (HAProxy: ``inter`` × ``fall``), so nothing new is sent to it.
2. Then uvicorn's own shutdown: it stops accepting, lets every request in flight finish (a push
   commits and replies), and closes each WebSocket with **1012 "service restart"** — which tells a
   client to reconnect at once (the balancer sends it to a live process); at most
   ``FIELDSYNC_DRAIN_TIMEOUT_S`` later whatever still runs is cancelled and the process exits.

A second SIGTERM during the delay skips the rest of it. The hook wraps whatever SIGTERM handler
the server installed (uvicorn's), so it works for ``fieldsync serve`` (one or ``--processes N``)
and for ``uvicorn --factory fieldsync.wiring:app_factory`` alike.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

from litestar import Litestar

log = logging.getLogger("fieldsync.http")

#: The WebSocket close code sent to every socket when the process stops (uvicorn sends it).
RECONNECT_CLOSE_CODE = 1012


def is_draining(state: Any) -> bool:
    return bool(state.get("draining"))


@asynccontextmanager
async def drain_on_sigterm(app: Litestar) -> AsyncGenerator[None, None]:
    """Lifespan hook: on SIGTERM mark the app draining, then hand the signal on after the delay."""
    app.state.draining = False
    previous = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield  # not the server's main thread (tests in-process): nothing to wrap
        return
    loop = asyncio.get_running_loop()
    delay = float(app.state.settings.drain_delay_s)

    def on_sigterm(sig: int, frame: FrameType | None) -> None:
        if app.state.draining:  # asked twice: stop now
            previous(sig, frame)
            return
        app.state.draining = True
        log.warning("SIGTERM: unready now, stopping in %.1f s (in-flight requests finish)", delay)
        loop.call_soon_threadsafe(loop.call_later, delay, previous, sig, None)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGTERM) is on_sigterm:
            signal.signal(signal.SIGTERM, previous)
