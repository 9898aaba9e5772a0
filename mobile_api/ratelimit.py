"""The per-client request limit: requests per one-minute window, counted in ``backend.limits``
(Redis when ``FIELDSYNC_REDIS_URL`` is set, so N API processes allow the limit once, not N times).

Which key a request counts against is the caller's choice (``identifier``); over the limit the
answer is ``429 rate_limited`` with ``Retry-After``, the same on either store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from litestar import Request
from litestar.types import ASGIApp, Receive, Scope, Send

from backend.config import Settings
from backend.limits import MemoryCounters, counters_for

log = logging.getLogger("fieldsync.http")

WINDOW_S = 60


def rate_limit_middleware(
    identifier: Callable[[Request[Any, Any, Any]], str], *, exclude: Sequence[str] = ()
) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware counting every HTTP request but those under the ``exclude`` path prefixes."""

    own = MemoryCounters()  # without Redis each application counts for itself, as before

    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope["path"].startswith(tuple(exclude)):
                await app(scope, receive, send)
                return
            settings: Settings = scope["litestar_app"].state.settings
            limit = settings.requests_per_minute
            key = "req:" + identifier(Request(scope))
            counters = counters_for(settings) if settings.redis_url else own
            taken = await counters.take(key, cost=1, limit=limit, window_s=WINDOW_S)
            if taken.allowed:
                await app(scope, receive, send)
                return
            body = msgspec.json.encode(
                {
                    "code": "rate_limited",
                    "message": f"more than {limit} requests this minute; retry in {taken.retry_after_s} s",
                    "details": {"retry_after_s": taken.retry_after_s, "limit_per_minute": limit},
                }
            )
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(taken.retry_after_s).encode()),
            ]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        return middleware

    return wrap
