"""Events leave only after commit: a rollback, or a rolled-back savepoint, announces nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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


async def test_published_after_commit_never_after_rollback(
    session_factory, network: Network, published
) -> None:
    sup = actor(network, "supplier-a")
    async with session_factory() as s, s.begin():
        conv = await service.create_conversation(
            s, sup, kind="direct", member_ids=[network.user("dist-north").id]
        )
        assert published == []  # nothing before the commit
    [created] = published
    assert {e.topic for e in created.events} == {
        f"conv:{conv.id}",
        f"user:{sup.user_id}",
        f"user:{network.user('dist-north').id}",
    }
    published.clear()
    async with session_factory() as s, s.begin():
        await service.send_message(s, sup, conversation_id=conv.id, client_message_id="a", body="hi")
    [committed] = published
    assert [e.topic for e in committed.events] == [f"conv:{conv.id}"]
    assert committed.events[0].payload["message"]["body"] == "hi"
    assert f"conv:{conv.id}" in committed.touched_scopes
    published.clear()
    async with session_factory() as s:
        await service.send_message(s, sup, conversation_id=conv.id, client_message_id="b", body="rolled back")
        await s.rollback()
        await s.commit()  # a later, empty commit must not resurrect them
    assert published == []


async def test_savepoints_and_a_failing_publisher(session_factory, network: Network, published) -> None:
    sup = actor(network, "supplier-a")
    async with session_factory() as s, s.begin():
        conv = await service.create_conversation(
            s, sup, kind="direct", member_ids=[network.user("dist-north").id]
        )
    published.clear()
    async with session_factory() as s, s.begin():
        await service.send_message(s, sup, conversation_id=conv.id, client_message_id="kept", body="kept")
        savepoint = await s.begin_nested()
        events.queue_event(s, "test", {"n": 1})
        await savepoint.rollback()
        async with s.begin_nested():
            events.queue_event(s, "test", {"n": 2})
        assert published == []  # releasing a savepoint is not the commit
    [committed] = published
    assert [(e.topic, e.payload.get("n")) for e in committed.events] == [
        (f"conv:{conv.id}", None),
        ("test", 2),
    ]

    def boom(_c: events.Committed) -> None:
        raise RuntimeError("channels down")

    events.set_publisher(boom)
    async with session_factory() as s, s.begin():
        await service.send_message(s, sup, conversation_id=conv.id, client_message_id="c", body="still saved")
    async with session_factory() as s:
        assert [m.body for m in await service.list_messages(s, sup, conv.id)] == ["kept", "still saved"]


async def test_a_session_closed_without_commit_forgets_its_events(
    session_factory, network, published
) -> None:
    sup = actor(network, "supplier-a")
    session = session_factory()
    await service.create_conversation(session, sup, kind="direct", member_ids=[network.user("dist-north").id])
    await session.close()  # no commit
    async with session.begin():  # the same Session object, reused
        pass
    await session.close()
    assert published == []
