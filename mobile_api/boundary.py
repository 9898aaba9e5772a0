"""The HTTP side of the input boundary (:mod:`backend.bounds`), for every route at once.

* :class:`BoundedRequest` decodes JSON and MessagePack bodies no deeper than
  ``backend.bounds.MAX_DEPTH`` (400 ``invalid_request``, not a ``RecursionError``);
* :func:`boundary_middleware` refuses U+0000 in the path, the query string and header values
  (400 ``invalid_request``) before any route parses them.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.types import ASGIApp, Receive, Scope, Send

from backend.bounds import OutOfBounds, check_depth
from mobile_api.errors import ApiError


class BoundedRequest(Request[Any, Any, Any]):
    """A request whose decoded body is never nested deeper than the bound."""

    async def json(self) -> Any:
        await self._check_depth(msgpack=False)
        return await super().json()

    async def msgpack(self) -> Any:
        await self._check_depth(msgpack=True)
        return await super().msgpack()

    async def _check_depth(self, *, msgpack: bool) -> None:
        try:
            check_depth(await self.body(), msgpack=msgpack)
        except OutOfBounds as exc:
            raise ApiError(400, "invalid_request", str(exc)) from None


def _has_nul(raw: bytes) -> bool:
    return b"\x00" in raw or b"%00" in raw


def boundary_middleware(app: ASGIApp) -> ASGIApp:
    """Refuse U+0000 (raw or percent-encoded) in the path, query string or any header value."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
            where = (
                "the path"
                if _has_nul(path)
                else "the query string"
                if _has_nul(scope.get("query_string", b""))
                else "a header"
                if any(b"\x00" in value for _name, value in scope.get("headers", ()))
                else None
            )
            if where is not None:
                await _refuse(scope, send, f"{where} may not contain U+0000")
                return
        await app(scope, receive, send)

    return middleware


async def _refuse(scope: Scope, send: Send, message: str) -> None:
    body = msgspec.json.encode({"code": "invalid_request", "message": message, "details": None})
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": message})
        return
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body})
