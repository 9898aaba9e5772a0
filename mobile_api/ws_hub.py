"""Live fan-out: Litestar channels (in memory, or Redis when ``FIELDSYNC_REDIS_URL`` is set),
the after-commit publisher and this process's presence heartbeat, wired as one plugin.

Channel names (before the deployment prefix):

``conv:<id>``      events of a conversation (messages, edits, read markers, typing, status)
``user:<id>``      events for one user (added to / removed from a conversation)
``support:platform`` the support queue (console badges)
``hint:<scope>``   "pull now": a committed transaction touched ``scope``

Redis pub/sub channels ignore the database number, so the prefix carries it: deployments (or
test runs) on different Redis databases never hear each other.

On Redis, publishing does not go through the channels plugin (one round trip per event, one
at a time, which caps a process at a few hundred events a second): :class:`RedisPublisher`
sends everything waiting in one pipeline of ``PUBLISH`` commands, in order. Subscribing does.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from litestar import Litestar
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.config.app import AppConfig
from litestar.plugins import InitPlugin

from backend import events
from backend.config import Settings
from backend.db import new_id
from backend.messaging import presence
from backend.messaging import service as messaging
from mobile_api.fanout_watchdog import SubscriberWatchdog
from mobile_api.ws_channels import SocketChannels
from mobile_api.ws_writer import SendWriter

log = logging.getLogger("fieldsync.ws")

#: The cyclic collector's thresholds while a hub runs (Python's default is 700, 10, 10). The
#: objects of sends in flight survive young collections, so with the default the old
#: generation (every socket's objects: ~450,000 with 1,000 sockets) was swept in full every
#: ~3 s at 500 messages/s, a 150–300 ms stall of the event loop that made the whole p99.
#: Full collections now come ~100 times less often; what is alive at start-up (modules, the
#: app) is frozen out of them altogether.
GC_THRESHOLDS = (700, 10, 1000)

#: Conversation scopes are announced by their own events, not by pull hints.
_NO_HINT_PREFIXES = ("conv:",)


def channel_prefix(redis_url: str) -> str:
    if not redis_url:
        return "fs:"
    db = urlsplit(redis_url).path.strip("/") or "0"
    return f"fs{db}:"


def make_backend(redis_url: str) -> Any:
    if not redis_url:
        return MemoryChannelsBackend()
    from redis.asyncio import Redis

    return _pubsub_backend_class()(redis=Redis.from_url(redis_url))


def _pubsub_backend_class() -> type:
    """Litestar's Redis pub/sub backend, with a constant-time check of each arriving event.

    Litestar's ``stream_events`` asks ``channel in channels.keys() - pending_unsubscribe`` for
    every event: a new set of all the process's channels each time, O(channels). With 10,000
    sockets over three processes (~8,000 channels each) that line was most of the receiving
    side's CPU (bench/fanout.py profile). Same semantics: subscribed and not being unsubscribed.
    """
    from litestar.channels.backends.redis import RedisChannelsPubSubBackend

    class PubSubBackend(RedisChannelsPubSubBackend):
        async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
            pubsub = self._pub_sub
            while True:
                await self._has_subscribed.wait()
                message = await pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=self._stream_sleep_no_subscriptions
                )
                if message is None:
                    continue
                raw = message["channel"]
                if raw in pubsub.channels and raw not in pubsub.pending_unsubscribe_channels:
                    yield raw.decode(), message["data"]

    return PubSubBackend


class RedisPublisher:
    """Publishes encoded events to Redis in order, everything waiting in one round trip."""

    def __init__(self, redis_url: str) -> None:
        from redis.asyncio import Redis

        self.redis = Redis.from_url(redis_url)
        self.queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    def publish(self, channel: str, data: bytes) -> None:
        self.queue.put_nowait((channel, data))

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while not self.queue.empty() and len(batch) < 1000:
                batch.append(self.queue.get_nowait())
            try:
                pipe = self.redis.pipeline(transaction=False)
                for channel, data in batch:
                    pipe.publish(channel, data)
                await pipe.execute()
            except Exception:
                log.exception("could not publish %d events to Redis", len(batch))

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.redis.aclose()


class Hub(InitPlugin):
    """Owns the channels plugin of this process and publishes committed events on it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.prefix = channel_prefix(settings.redis_url)
        self.node_id = f"{socket.gethostname()[:30]}-{os.getpid()}-{new_id()[-8:]}"
        self.channels = SocketChannels(
            backend=make_backend(settings.redis_url),
            arbitrary_channels_allowed=True,
            subscriber_max_backlog=2000,
            subscriber_backlog_strategy="dropleft",
        )
        self.started = False
        self.connections: set[Any] = set()  # this process's open sockets (mobile_api.ws.Connection)
        self._hints: set[asyncio.Task[None]] = set()
        self.writer: SendWriter | None = None
        self.redis_publisher: RedisPublisher | None = None
        self.watchdog: SubscriberWatchdog | None = None  # Redis only (mobile_api/fanout_watchdog.py)

    def name(self, channel: str) -> str:
        return self.prefix + channel

    @property
    def sockets(self) -> int:
        return len(self.connections)

    def ask_everyone_to_pull(self) -> None:
        """Send ``{"type":"pull"}`` to every socket of this process: after its subscriber was
        down it heard none of the events published meanwhile, and a pull brings what they
        announced (chat messages are in the change feed too)."""
        for conn in list(self.connections):
            task = asyncio.create_task(_hint_pull(conn))
            self._hints.add(task)
            task.add_done_callback(self._hints.discard)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.lifespan.append(self.lifespan)
        app_config.state["hub"] = self
        return app_config

    # -- publishing --------------------------------------------------------------------------
    def publish(self, payload: dict[str, Any], channel: str) -> None:
        if not self.started:
            return
        if self.redis_publisher is not None:
            self.redis_publisher.publish(self.name(channel), self.channels.encode_data(payload))
        else:
            self.channels.publish(payload, self.name(channel))

    def publish_committed(self, committed: events.Committed) -> None:
        """The after-commit publisher: events on their topics, touched scopes as pull hints."""
        if not self.started:
            return
        for event in committed.events:
            self.publish(event.payload, event.topic)
        for scope in committed.touched_scopes:
            if not scope.startswith(_NO_HINT_PREFIXES):
                self.publish({"type": "pull", "scope": scope}, "hint:" + scope)

    # -- lifecycle ---------------------------------------------------------------------------
    @asynccontextmanager
    async def lifespan(self, app: Litestar) -> AsyncGenerator[None, None]:
        messaging.configure(self.settings)
        gc_before = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        async with self.channels:
            if self.settings.redis_url:
                self.redis_publisher = RedisPublisher(self.settings.redis_url)
                self.redis_publisher.start()
                # Connect the pub/sub before any socket subscribes: redis-py's PubSub.connect()
                # is not safe to race (sockets opening at once would each open a connection,
                # all but the last orphaned with their subscriptions — silently deaf channels).
                await self.channels.subscribe([self.name(f"node:{self.node_id}")])
                # its reader must not die silently; after a restart every socket catches up
                self.watchdog = SubscriberWatchdog(self.channels, on_restart=self.ask_everyone_to_pull)
                self.watchdog.start()
            previous = events.set_publisher(self.publish_committed)
            self.started = True
            self.writer = SendWriter(
                lambda **kw: app.state.session_factory(**kw), lambda: app.state.engine.connect()
            )
            self.writer.start()
            beat = asyncio.create_task(self._heartbeat(app))
            try:
                yield
            finally:
                self.started = False
                if self.watchdog is not None:
                    await self.watchdog.stop()
                    self.watchdog = None
                await self.writer.stop()
                if self.redis_publisher is not None:
                    await self.redis_publisher.stop()
                    self.redis_publisher = None
                beat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beat
                if events.get_publisher() == self.publish_committed:
                    events.set_publisher(previous)
                await self._forget(app)
                gc.set_threshold(*gc_before)
                gc.unfreeze()

    async def _heartbeat(self, app: Litestar) -> None:
        while True:
            await asyncio.sleep(presence.HEARTBEAT_S)
            try:
                async with app.state.session_factory() as session, session.begin():
                    await presence.heartbeat(session, self.node_id)
            except Exception:
                log.exception("presence heartbeat failed")

    async def _forget(self, app: Litestar) -> None:
        try:
            async with app.state.session_factory() as session, session.begin():
                await presence.forget_node(session, self.node_id)
        except Exception:
            log.exception("could not clear this process's live connections")


async def _hint_pull(conn: Any) -> None:
    with contextlib.suppress(Exception):  # a socket closing meanwhile
        await conn.send('{"type":"pull"}')
