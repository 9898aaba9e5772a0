"""The WebSocket a phone or the console keeps open: ``GET /ws`` (upgrade).

Authenticated with the access token (``Authorization: Bearer`` or ``?access_token=``). On
connect it subscribes first (the user's conversations, the user, the scopes they are entitled
to, the support queue for agents), then says ``{"type": "ready", ...}``; anything committed
from then on arrives. Server → client: ``message``, ``message.edited``, ``message.deleted``,
``read``, ``typing``, ``member.added``, ``member.removed``, ``conversation``,
``support.updated``, ``support.note`` (agents), ``pull`` (debounced "pull now" hint).
Client → server: ``{"type": "typing", "conversation_id"}``, ``{"type": "viewing",
"conversation_id"}`` (agents: the ticket they have open, announced to the other agents),
``{"type": "read", "conversation_id", "seq"}``, ``{"type": "ping"}``, and
``{"type": "send", "conversation_id", "client_message_id", "body", "attachments"?}``: a message
sent over the socket, answered ``{"type": "sent", "client_message_id", "message"}`` once it is
stored (or ``{"type": "error", "code", "client_message_id"}``); see :mod:`mobile_api.ws_writer`.

A socket only ever subscribes to conversations its user is a member of, so it never hears
another conversation's events.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.channels import Subscriber
from litestar.exceptions import WebSocketDisconnect

from backend.bounds import OutOfBounds, check_depth, check_value
from backend.errors import DomainError
from backend.identity import Actor
from backend.identity.errors import TokenExpired
from backend.messaging import SUPPORT_SCOPE, presence
from backend.messaging import service as messaging
from mobile_api.auth import actor_from_connection, bearer_token, decode_access_token
from mobile_api.ws_hub import Hub

log = logging.getLogger("fieldsync.ws")

PULL_DEBOUNCE_S = 0.05
#: Sends of one socket waiting for their answer at most; beyond, the socket is not read.
MAX_SENDS_IN_FLIGHT = 100
CLOSE_UNAUTHENTICATED = 4401


async def entitled_scopes(session: Any, actor: Actor) -> set[str]:
    """The sync engine's answer when it exists; until then the user, the organisation and the
    conversations."""
    try:
        from sync.scopes import entitled_scopes as sync_entitled
    except ImportError:
        scopes = {f"user:{actor.user_id}", f"org:{actor.org_id}"}
        scopes |= {f"conv:{c}" for c in await messaging.member_conversation_ids(session, actor.user_id)}
        if messaging.is_agent(actor):
            scopes.add(SUPPORT_SCOPE)
        return scopes
    result = sync_entitled(session, actor)
    return set(await result) if inspect.isawaitable(result) else set(result)


class Connection:
    """One open socket: its subscriptions and the little state the protocol needs."""

    def __init__(self, socket: WebSocket, hub: Hub, actor: Actor) -> None:
        self.socket = socket
        self.hub = hub
        self.actor = actor
        self.conversations: dict[str, Subscriber] = {}
        self.subscribers: list[Subscriber] = []
        self.pull_task: asyncio.Task[None] | None = None
        self.send_lock = asyncio.Lock()
        self.in_flight = asyncio.Semaphore(MAX_SENDS_IN_FLIGHT)
        self.answers: set[asyncio.Task[None]] = set()

    async def send(self, data: bytes | str) -> None:
        async with self.send_lock:
            await self.socket.send_text(data if isinstance(data, str) else data.decode())

    async def _subscribe(self, channels: list[str], on_event: Any) -> Subscriber:
        sub = await self.hub.channels.subscribe([self.hub.name(c) for c in channels])
        sub._start_in_background(on_event)  # noqa: SLF001 - the public form is a context manager
        self.subscribers.append(sub)
        return sub

    async def join(self, conversation_id: str) -> None:
        if conversation_id not in self.conversations:
            self.conversations[conversation_id] = await self._subscribe(
                [f"conv:{conversation_id}"], self.send
            )

    async def leave(self, conversation_id: str) -> None:
        sub = self.conversations.pop(conversation_id, None)
        if sub is not None:
            self.subscribers.remove(sub)
            await self.hub.channels.unsubscribe(sub)

    async def start(self, conversation_ids: list[str], scopes: set[str]) -> None:
        for conversation_id in conversation_ids:
            await self.join(conversation_id)
        await self._subscribe([f"user:{self.actor.user_id}"], self._on_user_event)
        hints = [f"hint:{s}" for s in sorted(scopes) if not s.startswith("conv:")]
        if hints:
            await self._subscribe(hints, self._on_hint)
        if messaging.is_agent(self.actor):
            await self._subscribe([SUPPORT_SCOPE], self.send)

    async def _on_user_event(self, data: bytes) -> None:
        event = msgspec.json.decode(data)
        if event.get("type") == "device.revoked" and event.get("device_id") == self.actor.device_id:
            message = "this device was signed out; sign in again"
            await _close_unauthenticated(self.socket, "device_revoked", message)
            return
        if event.get("type") == "member.added":
            await self.join(event["conversation_id"])
        await self.send(data)
        if event.get("type") == "member.removed":
            await self.leave(event["conversation_id"])

    async def _on_hint(self, _data: bytes) -> None:
        # Debounced: a burst of commits touching the user's scopes is one "pull now".
        if self.pull_task is None or self.pull_task.done():
            self.pull_task = asyncio.create_task(self._pull_soon())

    async def _pull_soon(self) -> None:
        await asyncio.sleep(PULL_DEBOUNCE_S)
        self.pull_task = None
        with contextlib.suppress(Exception):
            await self.send('{"type":"pull"}')

    async def send_message(self, message: dict[str, Any]) -> None:
        """Queue a message for the writer; the answer follows once it is stored (in order)."""
        client_id = message.get("client_message_id")
        fields = (message.get("conversation_id"), client_id, message.get("body", ""))
        attachments = message.get("attachments", [])
        if not all(isinstance(f, str) for f in fields) or not (
            isinstance(attachments, list) and all(isinstance(a, str) for a in attachments)
        ):
            await self.send(
                _error("bad_message", "send needs conversation_id, client_message_id, body", client_id)
            )
            return
        writer = self.hub.writer
        if writer is None:
            await self.send(_error("database_busy", "the server is not ready; send again", client_id))
            return
        await self.in_flight.acquire()
        request = messaging.SendRequest(self.actor, fields[0], fields[1], fields[2], attachments)
        done = await writer.submit(request)
        task = asyncio.create_task(self._answer(fields[1], done))
        self.answers.add(task)
        task.add_done_callback(self.answers.discard)

    async def _answer(self, client_id: str, done: asyncio.Future[Any]) -> None:
        try:
            result = await done
            if isinstance(result, DomainError):
                await self.send(_error(result.code, result.message, client_id))
            else:
                await self.send(
                    msgspec.json.encode(
                        {"type": "sent", "client_message_id": client_id, "message": result.sync_data()}
                    )
                )
        except Exception:  # the socket went away: the message is stored all the same
            log.debug("could not answer send %s", client_id, exc_info=True)
        finally:
            self.in_flight.release()

    async def stop(self) -> None:
        if self.pull_task is not None:
            self.pull_task.cancel()
        for sub in self.subscribers:
            with contextlib.suppress(Exception):
                await self.hub.channels.unsubscribe(sub)
        self.subscribers.clear()
        self.conversations.clear()

    async def handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        conversation_id = message.get("conversation_id")
        if kind == "ping":
            await self.send('{"type":"pong"}')
        elif kind == "send":
            await self.send_message(message)
        elif kind == "typing" and conversation_id in self.conversations:
            self.hub.publish(
                {"type": "typing", "conversation_id": conversation_id, "user_id": self.actor.user_id},
                f"conv:{conversation_id}",
            )
        elif (
            kind == "viewing"
            and messaging.is_agent(self.actor)
            and (
                conversation_id is None
                or (isinstance(conversation_id, str) and 0 < len(conversation_id) <= 64)
            )
        ):
            # "also viewing": agents say which ticket they have open (None: none); only agents hear it
            self.hub.publish(
                {"type": "viewing", "conversation_id": conversation_id, "user_id": self.actor.user_id},
                SUPPORT_SCOPE,
            )
        elif kind == "read" and conversation_id in self.conversations and isinstance(message.get("seq"), int):
            async with self.socket.app.state.session_factory() as session, session.begin():
                await messaging.mark_read(
                    session, self.actor, conversation_id=conversation_id, up_to_seq=message["seq"]
                )
        else:
            await self.send(
                msgspec.json.encode(
                    {"type": "error", "code": "bad_message", "message": "unknown or not allowed"}
                )
            )


def _client_message_id(raw: str | bytes) -> str | None:
    """The frame's ``client_message_id`` for a refusal, when it can be told (and is clean)."""
    try:
        value = msgspec.json.decode(raw).get("client_message_id")
    except (msgspec.DecodeError, RecursionError, AttributeError):
        return None
    return value if isinstance(value, str) and "\x00" not in value and len(value) <= 64 else None


def _error(code: str, message: str, client_message_id: Any = None) -> bytes:
    event: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if isinstance(client_message_id, str):
        event["client_message_id"] = client_message_id
    return msgspec.json.encode(event)


async def _authenticate(socket: WebSocket) -> tuple[Actor, list[str], set[str], str] | None:
    hub: Hub = socket.app.state.hub
    try:
        async with socket.app.state.session_factory() as session, session.begin():
            actor = await actor_from_connection(socket, session)
            conversation_ids = await messaging.member_conversation_ids(session, actor.user_id)
            scopes = await entitled_scopes(session, actor)
            connection_id = await presence.connected(session, user_id=actor.user_id, node_id=hub.node_id)
    except DomainError as exc:
        await socket.accept()
        await socket.send_json({"type": "error", "code": exc.code, "message": exc.message})
        await socket.close(code=CLOSE_UNAUTHENTICATED, reason=exc.code)
        return None
    return actor, conversation_ids, scopes, connection_id


async def _close_unauthenticated(socket: WebSocket, code: str, message: str) -> None:
    """Tell the client why, then close: the socket's sign-in no longer holds."""
    with contextlib.suppress(Exception):
        await socket.send_json({"type": "error", "code": code, "message": message})
        await socket.close(code=CLOSE_UNAUTHENTICATED, reason=code)


async def _close_at_expiry(socket: WebSocket) -> None:
    """The access token authorised the socket until it expires; then the client reconnects."""
    try:
        claims = decode_access_token(socket.app.state.settings, bearer_token(socket))
    except TokenExpired:  # it expired between sign-in and here (a loaded server): close now
        claims = {"exp": 0}
    await asyncio.sleep(max(0.0, float(claims["exp"]) - time.time()))
    await _close_unauthenticated(socket, "token_expired", "reconnect with a new token")


@websocket("/ws", name="live_socket")
async def live_socket(socket: WebSocket) -> None:
    hub: Hub = socket.app.state.hub
    auth = await _authenticate(socket)
    if auth is None:
        return
    actor, conversation_ids, scopes, connection_id = auth
    await socket.accept()
    conn = Connection(socket, hub, actor)
    hub.connections.add(conn)
    expiry = asyncio.create_task(_close_at_expiry(socket))
    try:
        await conn.start(conversation_ids, scopes)
        await conn.send(
            msgspec.json.encode(
                {"type": "ready", "user_id": actor.user_id, "conversations": conversation_ids}
            )
        )
        while True:
            raw = await socket.receive_data("text")
            try:  # the same bounds as an HTTP body: depth, U+0000, int64, years
                check_depth(raw.encode() if isinstance(raw, str) else raw, msgpack=False)
                message = msgspec.json.decode(raw)
                check_value(message)
            except OutOfBounds as exc:
                await conn.send(_error("invalid_request", str(exc), _client_message_id(raw)))
                continue
            except msgspec.DecodeError:
                message = {}
            try:
                await conn.handle(message if isinstance(message, dict) else {})
            except DomainError as exc:
                await conn.send(
                    msgspec.json.encode({"type": "error", "code": exc.code, "message": exc.message})
                )
    except WebSocketDisconnect:
        pass
    finally:
        hub.connections.discard(conn)
        expiry.cancel()
        await conn.stop()
        try:
            async with socket.app.state.session_factory() as session, session.begin():
                await presence.disconnected(session, connection_id)
        except Exception:
            log.exception("could not drop live connection %s", connection_id)


ROUTES = [live_socket]
