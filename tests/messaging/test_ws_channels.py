"""SocketChannels: leaving a channel touches only the subscriber's own channels, with Litestar's
semantics (in memory, and on a real Redis when ``FIELDSYNC_TEST_REDIS_URL`` is set)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from litestar import Litestar
from litestar.channels import Subscriber
from litestar.channels.backends.memory import MemoryChannelsBackend

from mobile_api.ws_channels import SocketChannels
from mobile_api.ws_hub import make_backend

REDIS_ENV = "FIELDSYNC_TEST_REDIS_URL"


@asynccontextmanager
async def running(backend: object) -> AsyncIterator[SocketChannels]:
    """The plugin started inside a Litestar app (its lifespan starts and stops the backend)."""
    plugin = SocketChannels(backend=backend, arbitrary_channels_allowed=True)
    async with Litestar(plugins=[plugin]).lifespan():
        yield plugin


async def heard(sub: Subscriber, n: int, timeout: float = 2.0) -> list[bytes]:
    got: list[bytes] = []

    async def collect() -> None:
        async for event in sub.iter_events():
            got.append(event)
            if len(got) == n:
                return

    await asyncio.wait_for(collect(), timeout)
    return got


async def silent(sub: Subscriber, wait: float = 0.2) -> bool:
    """Nothing arrives for ``sub`` within ``wait`` seconds (its backlog stays empty)."""
    await asyncio.sleep(wait)
    return sub._queue.empty()  # noqa: SLF001 - what a subscriber has been handed


async def test_a_subscriber_leaves_only_what_it_names() -> None:
    async with running(MemoryChannelsBackend()) as plugin:
        a = await plugin.subscribe(["conv:1", "conv:2"])
        b = await plugin.subscribe("conv:1")
        await plugin.unsubscribe(a, "conv:1")
        assert plugin.channels_of(a) == {"conv:2"}
        plugin.publish(b"one", "conv:1")
        plugin.publish(b"two", "conv:2")
        assert await heard(b, 1) == [b"one"]
        assert await heard(a, 1) == [b"two"]  # "one" never reached it


async def test_leaving_every_channel_ends_the_stream_and_forgets_empty_channels() -> None:
    async with running(MemoryChannelsBackend()) as plugin:
        a = await plugin.subscribe(["conv:1", "user:7"])
        b = await plugin.subscribe(["conv:1"])
        await plugin.unsubscribe(a)
        assert plugin.channels_of(a) == frozenset()
        # The stream of a ends at once (Litestar puts None on its queue).
        assert [event async for event in a.iter_events()] == []
        assert "user:7" not in plugin._channels  # noqa: SLF001 - the map no longer grows
        assert plugin._channels["conv:1"] == {b}  # noqa: SLF001
        plugin.publish(b"still", "conv:1")
        assert await heard(b, 1) == [b"still"]
        await plugin.unsubscribe(a)  # a second time: nothing to do, no error


async def test_a_running_subscriber_is_stopped_when_it_leaves() -> None:
    async with running(MemoryChannelsBackend()) as plugin:
        got: list[bytes] = []

        async def on_event(event: bytes) -> None:
            got.append(event)

        sub = await plugin.subscribe("conv:9")
        sub._start_in_background(on_event)  # noqa: SLF001 - as mobile_api.ws does
        plugin.publish(b"x", "conv:9")
        for _ in range(100):
            if got:
                break
            await asyncio.sleep(0.01)
        await plugin.unsubscribe(sub)
        assert got == [b"x"]
        assert not sub.is_running


async def test_unsubscribing_many_sockets_keeps_everyone_elses_channels() -> None:
    """A thousand sockets of three channels each close; the other thousand still hear theirs."""
    async with running(MemoryChannelsBackend()) as plugin:
        closing = [await plugin.subscribe([f"conv:{i}", f"user:{i}", "hint:all"]) for i in range(1000)]
        staying = [await plugin.subscribe([f"conv:{i}"]) for i in range(1000, 2000)]
        for sub in closing:
            await plugin.unsubscribe(sub)
        assert set(plugin._channels) == {f"conv:{i}" for i in range(1000, 2000)}  # noqa: SLF001
        plugin.publish(b"late", "conv:1500")
        plugin.publish(b"gone", "conv:5")
        assert await heard(staying[500], 1) == [b"late"]
        assert await silent(staying[5])


@pytest.mark.skipif(not os.environ.get(REDIS_ENV), reason=f"needs Redis ({REDIS_ENV})")
async def test_on_redis_a_channel_is_unsubscribed_only_when_nobody_listens() -> None:
    from redis.asyncio import Redis

    url = os.environ[REDIS_ENV]
    redis = Redis.from_url(url)
    channel = f"fs-test-channels-{os.getpid()}"

    async def listeners() -> int:
        await asyncio.sleep(0.1)  # the subscriber's connection has sent its (UN)SUBSCRIBE
        return dict(await redis.pubsub_numsub(channel))[channel.encode()]

    try:
        async with running(make_backend(url)) as plugin:
            a = await plugin.subscribe(channel)
            b = await plugin.subscribe(channel)
            assert await listeners() == 1
            await plugin.unsubscribe(a)
            assert await listeners() == 1  # b still listens
            await plugin.unsubscribe(b)
            assert await listeners() == 0
            c = await plugin.subscribe(channel)
            assert await listeners() == 1
            await redis.publish(channel, b"again")
            assert await heard(c, 1) == [b"again"]
    finally:
        await redis.aclose()
