"""The sync protocol over HTTP: push, pull and the mutation schema (thin: the engine is ``sync/``).

Bodies are read and written with msgspec in JSON or MessagePack (``Content-Type`` /
``Accept: application/msgpack``); large pull pages are gzip-compressed by the app's compression
config when the client accepts it, push replies never (``NO_COMPRESSION``: their size is about
the request's, and gzip would cost more CPU than the rest of the reply).
"""

from __future__ import annotations

import asyncio
import random
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import Parameter
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.bounds import INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN
from backend.changefeed.reading import begin_snapshot
from backend.config import Settings
from backend.db import is_transient_error
from backend.identity import Actor
from backend.identity.service import load_actor
from mobile_api.auth import token_subject
from mobile_api.deps import NO_COMPRESSION
from mobile_api.params import QueryId
from sync import protocol as p
from sync.pull import DEFAULT_LIMIT, pull
from sync.push import admit_batch, apply_admitted_batch
from sync.schema import sync_schema

PUSH_ATTEMPTS = 3
# Push batches applied at once per server process: SQLite has one writer anyway; PostgreSQL
# keeps connections of its pool (10) free for pulls and the rest.
CONCURRENT_PUSHES = {"sqlite": 1, "postgresql": 8}


def push_gate(request: Request[Any, Any, Any]) -> asyncio.Semaphore:
    """The process's gate for push batches: they queue here, first come first served, holding no
    database connection — not in the pool (which times out) or SQLite's busy handler (unfair)."""
    state = request.app.state
    gate = state.get("push_gate")
    if gate is None:
        settings: Settings = state.settings
        backend = "sqlite" if settings.is_sqlite else "postgresql"
        gate = state["push_gate"] = asyncio.Semaphore(CONCURRENT_PUSHES[backend])
    return gate


def _reply(request: Request[Any, Any, Any], value: Any) -> Response[bytes]:
    media_type = p.MSGPACK if p.is_msgpack(request.headers.get("accept")) else p.JSON
    return Response(p.encode(value, media_type), media_type=media_type)


@post("/sync/v1/push", status_code=200, tags=["sync"], opt={NO_COMPRESSION: True})
async def push_route(request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[bytes]:
    """Apply a batch of mutations from a phone's outbox; one result per mutation.

    The token is checked before anything else (no database); the caller (user active, device not
    revoked) is loaded inside the push's own transaction, after the gate, so a push is one
    transaction and a batch waiting its turn holds no connection."""
    settings: Settings = request.app.state.settings
    subject = token_subject(request)
    envelope = p.decode_push(await request.body(), request.headers.get("content-type", p.JSON))
    async with push_gate(request):
        return await _apply_with_retries(request, db_session, subject, settings, envelope)


async def _apply_with_retries(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    subject: tuple[str, str | None],
    settings: Settings,
    envelope: p.PushRequest,
) -> Response[bytes]:
    for attempt in range(1, PUSH_ATTEMPTS + 1):
        try:
            actor: Actor = await load_actor(db_session, *subject)
            request.state.actor = actor
            if attempt == 1:
                await admit_batch(actor, settings, envelope)  # once: a retried batch is not counted again
            result = await apply_admitted_batch(db_session, actor, settings, envelope)
            # Results are stored with their effects: commit before replying, so a retry finds them.
            await db_session.commit()
            return _reply(request, result)
        except DBAPIError as exc:
            # A deadlock or a busy database rolled the whole batch back: nothing was applied or
            # acknowledged, so running it again is safe. After the last try the phone retries later.
            await db_session.rollback()
            if not is_transient_error(exc) or attempt == PUSH_ATTEMPTS:
                raise
            await asyncio.sleep(random.uniform(0.05, 0.2) * attempt)
    raise AssertionError("unreachable")


# A pull cursor holds a position per scope (``sync.cursor``); the HTTP server's request line
# limit (16 KiB under uvicorn's h11) is the real ceiling. ``resync``: comma-separated scopes.
SyncCursor = Annotated[str | None, Parameter(max_length=16_384, default=None)]
Resync = Annotated[str | None, Parameter(max_length=4_096, default=None)]


@get("/sync/v1/pull", tags=["sync"])
async def pull_route(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    cursor: SyncCursor = None,
    limit: Annotated[int, Parameter(ge=INT64_MIN, le=INT64_MAX)] = DEFAULT_LIMIT,
    client_id: QueryId = None,
    resync: Resync = None,
    protocol: Annotated[int | None, Parameter(ge=INT32_MIN, le=INT32_MAX)] = None,
) -> Response[bytes]:
    """Changes in the caller's scopes since ``cursor``, read in one snapshot.

    The caller (token, user and device not revoked) is checked inside that snapshot, so a pull
    is one read-only transaction."""
    if protocol is not None:
        p.check_protocol(protocol, request.app.state.settings.sync_min_protocol)
    user_id, device_id = token_subject(request)
    watermark = await begin_snapshot(db_session)
    actor = await load_actor(db_session, user_id, device_id)
    request.state.actor = actor
    msgpack = p.is_msgpack(request.headers.get("accept"))
    page = await pull(
        db_session,
        actor,
        watermark,
        cursor=cursor,
        limit=limit,
        client_id=client_id,
        resync=frozenset(s for s in (resync or "").split(",") if s),
        raw_json=not msgpack,
        cursor_key=request.app.state.settings.secret_key,
    )
    media_type = p.MSGPACK if msgpack else p.JSON
    return Response(p.encode(page, media_type), media_type=media_type)


@get("/sync/v1/schema", tags=["sync"])
async def schema_route(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The protocol versions spoken, every mutation's argument JSON Schema and every entity's row
    JSON Schema (the ``data`` of a pulled change)."""
    settings: Settings = request.app.state.settings
    return _reply(request, sync_schema(settings.sync_min_protocol))


ROUTES: list[Any] = [push_route, pull_route, schema_route]
