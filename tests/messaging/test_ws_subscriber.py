"""The push subscriber (mobile_api/ws_subscriber.py): Litestar's delivery semantics, and no
task or future held while a subscriber waits for its next event."""

from __future__ import annotations

import asyncio

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend

from mobile_api.ws_subscriber import PushSubscriber


def plugin(backlog: int = 2000, strategy: str = "dropleft") -> ChannelsPlugin:
    return ChannelsPlugin(
        backend=MemoryChannelsBackend(),
        arbitrary_channels_allowed=True,
        subscriber_max_backlog=backlog,
        subscriber_backlog_strategy=strategy,  # type: ignore[arg-type]
        subscriber_class=PushSubscriber,
    )


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_events_arrive_in_order_one_at_a_time_and_an_idle_subscriber_holds_nothing() -> None:
    channels = plugin()
    async with channels:
        got: list[bytes] = []
        busy = 0

        async def on_event(data: bytes) -> None:
            nonlocal busy
            busy += 1
            assert busy == 1  # never two at once
            await asyncio.sleep(0.001)
            got.append(data)
            busy -= 1

        sub = await channels.subscribe(["c"])
        assert isinstance(sub, PushSubscriber)
        channels.publish(b"early", "c")  # before the consumer starts
        await settle()
        sub._start_in_background(on_event)
        for i in range(20):
            channels.publish(str(i).encode(), "c")
        for _ in range(100):
            if len(got) == 21:
                break
            await asyncio.sleep(0.01)
        assert got == [b"early"] + [str(i).encode() for i in range(20)]
        assert sub.is_running
        # idle: no task of the subscriber's waits for the next event (Litestar's would)
        assert sub._task is None
        assert not [t for t in asyncio.all_tasks() if "PushSubscriber" in repr(t.get_coro())]
        await channels.unsubscribe(sub)
        assert not sub.is_running
        channels.publish(b"after", "c")
        await settle()
        assert got[-1] == b"19"


async def test_a_full_backlog_drops_the_oldest() -> None:
    channels = plugin(backlog=3)
    async with channels:
        got: list[bytes] = []
        release = asyncio.Event()

        async def on_event(data: bytes) -> None:
            await release.wait()
            got.append(data)

        sub = await channels.subscribe(["c"])
        sub._start_in_background(on_event)
        for i in range(10):
            sub.put_nowait(str(i).encode())
        await settle()
        release.set()
        await settle()
        assert got == [b"7", b"8", b"9"]  # put before the drain ran: the oldest 7 dropped
        assert sub.qsize == 0


async def test_backoff_refuses_a_new_event_when_full() -> None:
    channels = plugin(backlog=2, strategy="backoff")
    async with channels:
        sub = await channels.subscribe(["c"])
        release = asyncio.Event()

        async def on_event(_data: bytes) -> None:
            await release.wait()

        sub._start_in_background(on_event)
        assert sub.put_nowait(b"a")
        await settle()  # "a" is being delivered
        assert sub.put_nowait(b"b") and sub.put_nowait(b"c")
        assert not sub.put_nowait(b"d")
        release.set()
        await sub.stop(join=True)
        assert not sub.is_running


async def test_stop_cancels_a_delivery_and_a_raising_callback_ends_the_stream() -> None:
    channels = plugin()
    async with channels:
        sub = await channels.subscribe(["c"])
        started = asyncio.Event()

        async def hang(_data: bytes) -> None:
            started.set()
            await asyncio.sleep(60)

        sub._start_in_background(hang)
        sub.put_nowait(b"x")
        await started.wait()
        await asyncio.wait_for(sub.stop(), 1)
        assert not sub.is_running and sub._task is None

        other = await channels.subscribe(["d"])
        calls: list[bytes] = []

        async def boom(data: bytes) -> None:
            calls.append(data)
            raise RuntimeError("socket gone")

        other._start_in_background(boom)
        other.put_nowait(b"1")
        other.put_nowait(b"2")
        await settle()
        assert calls == [b"1"]
        assert not other.put_nowait(b"3")
        assert not other.is_running


async def test_without_a_consumer_task_iter_events_works_as_litestars() -> None:
    channels = plugin()
    async with channels:
        sub = await channels.subscribe(["c"])
        channels.publish(b"a", "c")
        channels.publish(b"b", "c")
        it = sub.iter_events()
        assert await asyncio.wait_for(it.__anext__(), 1) == b"a"
        assert await asyncio.wait_for(it.__anext__(), 1) == b"b"
        await it.aclose()
        await channels.unsubscribe(sub)
