"""Events leave only after commit: a rollback, or a rolled-back savepoint, announces nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend import events
from backend.messaging import service
from tests.factories import Network
from tests.messaging.helpers import actor


@pytest.fixture
def published() -> Iterator[list[events.Committed]]:
    seen: list[events.Committed] = []
    previous = events.set_publisher(seen.append)
    yield seen
    events.set_publisher(previous)


async def _conv(sf: async_sessionmaker[AsyncSession], net: Network) -> str:
    async with sf() as s, s.begin():
        conv = await service.create_conversation(
            s, actor(net, "supplier-a"), kind="direct", member_ids=[net.user("dist-north").id]
        )
    return conv.id


async def test_committed_message_is_published_with_touched_scopes(
    session_factory, network, published
) -> None:
    conv_id = await _conv(session_factory, network)
    published.clear()
    async with session_factory() as s, s.begin():
        await service.send_message(
            s, actor(network, "supplier-a"), conversation_id=conv_id, client_message_id="a", body="hi"
        )
        assert published == []  # nothing before the commit
    [committed] = published
    assert [e.topic for e in committed.events] == [f"conv:{conv_id}"]
    assert committed.events[0].payload["message"]["body"] == "hi"
    assert f"conv:{conv_id}" in committed.touched_scopes


async def test_rollback_publishes_nothing(session_factory, network, published) -> None:
    conv_id = await _conv(session_factory, network)
    published.clear()
    async with session_factory() as s:
        await service.send_message(
            s, actor(network, "supplier-a"), conversation_id=conv_id, client_message_id="a", body="hi"
        )
        await s.rollback()
        await s.commit()  # a later, empty commit must not resurrect them
    assert published == []


async def test_rolled_back_savepoint_drops_only_its_events(session_factory, network, published) -> None:
    conv_id = await _conv(session_factory, network)
    sup = actor(network, "supplier-a")
    published.clear()
    async with session_factory() as s, s.begin():
        await service.send_message(s, sup, conversation_id=conv_id, client_message_id="kept", body="kept")
        savepoint = await s.begin_nested()
        events.queue_event(s, "test", {"n": 1})
        await savepoint.rollback()
        async with s.begin_nested():
            events.queue_event(s, "test", {"n": 2})
    [committed] = published
    assert [(e.topic, e.payload.get("n")) for e in committed.events] == [
        (f"conv:{conv_id}", None),
        ("test", 2),
    ]


async def test_a_failing_publisher_does_not_break_the_commit(session_factory, network) -> None:
    def boom(_c: events.Committed) -> None:
        raise RuntimeError("channels down")

    previous = events.set_publisher(boom)
    try:
        conv_id = await _conv(session_factory, network)
    finally:
        events.set_publisher(previous)
    async with session_factory() as s:
        assert await service.member_conversation_ids(s, network.user("dist-north").id) == [conv_id]
