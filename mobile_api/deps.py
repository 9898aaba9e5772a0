"""Dependencies shared by routes: the request's unit of work, and reading a body within a limit."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from backend.bounds import header_int
from backend.db import read_only
from mobile_api.errors import ApiError

# Requests that only read: their session's transactions are read-only (on SQLite they neither
# take nor wait for the write lock; a write in one fails instead of queueing behind writers).
# A GET handler that writes after all says so with ``opt={WRITES: True}`` on its route.
READ_METHODS = frozenset({"GET", "HEAD"})
WRITES = "db_writes"
# Route option: never gzip this route's replies (small, on a hot path: compressing a push reply of
# 100 results, 13.5 KB of MessagePack, cost ~1 ms of CPU, more than the rest of its encoding).
NO_COMPRESSION = "no_compression"


async def provide_db_session(
    state: State, request: Request[Any, Any, Any]
) -> AsyncGenerator[AsyncSession, None]:
    """The request owns the transaction: commit when the handler returns, roll back if it raises.

    GET and HEAD requests get a read-only session (see :func:`backend.db.read_only`) unless
    their route is marked ``opt={WRITES: True}``."""
    factory = state.session_factory
    if request.method in READ_METHODS and not request.route_handler.opt.get(WRITES):
        session: AsyncSession = factory(bind=read_only(state.engine))
    else:
        session = factory()
    try:
        yield session
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    finally:
        await session.close()


async def read_body(request: Request[Any, Any, Any], *, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it passes ``limit`` bytes (not after reading it all)."""
    too_large = ApiError(413, "body_too_large", f"the body is larger than {limit} bytes")
    declared = header_int(request.headers.get("content-length"))
    if declared is not None and declared > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)
