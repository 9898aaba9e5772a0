"""The outbox worker with the real firebase-admin SDK against the local fake FCM."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db import utcnow
from backend.identity import Device
from backend.messaging import presence
from backend.notifications import PushOutbox
from backend.notifications import service as push
from backend.notifications.delivery import deliver_once, deliver_rounds
from backend.notifications.gateway import FcmGateway
from tests.factories import Network
from tests.fakes.fake_fcm import FakeFcm
from workers.jobs.messaging_jobs import deliver_pushes


@pytest.fixture
def fake() -> Iterator[FakeFcm]:
    with FakeFcm() as server:
        yield server


@pytest.fixture
def gateway(fake: FakeFcm, tmp_path: Path) -> Iterator[FcmGateway]:
    with FcmGateway(str(fake.service_account(tmp_path)), fcm_endpoint=fake.base_url, http_retries=0) as gw:
        yield gw


async def _device(sf: async_sessionmaker[AsyncSession], user_id: str, token: str) -> None:
    async with sf() as s, s.begin():
        s.add(Device(user_id=user_id, client_id=token[:60], platform="android", push_token=token))


async def _rows(sf: async_sessionmaker[AsyncSession]) -> dict[str, PushOutbox]:
    async with sf() as s:
        return {r.title or r.kind: r for r in (await s.execute(select(PushOutbox))).scalars()}


async def _active(sf: async_sessionmaker[AsyncSession], token: str) -> bool:
    async with sf() as s:
        return bool(await s.scalar(select(Device.push_token_active).where(Device.push_token == token)))


async def test_outcomes_success_dead_tokens_and_retry(
    session_factory, network: Network, fake, gateway
) -> None:
    tokens = {
        "dist-north": "ok-token-1",
        "dist-south": "unreg-token-2",
        "supplier-a": "invalid-token-3",
        "supplier-b": "flaky-token-4",
        "field-north": "unavail-token-5",
    }
    users = {name: network.user(name).id for name in tokens}
    for name, token in tokens.items():
        await _device(session_factory, users[name], token)
    fake.fail("flaky-token-4", "QUOTA_EXCEEDED", times=1, retry_after=1)
    async with session_factory() as s, s.begin():
        for name in tokens:
            await push.enqueue(s, user_id=users[name], kind="alert", title=name, body="hello")

    started = utcnow()
    first = await deliver_once(session_factory, gateway, worker_id="w1", max_attempts=2)
    assert (first.claimed, first.sent, first.failed, first.retried) == (5, 1, 2, 2)
    assert first.deactivated_tokens == 2
    rows = await _rows(session_factory)
    assert rows["dist-north"].status == "sent"
    assert rows["dist-south"].status == rows["supplier-a"].status == "failed"
    assert rows["dist-south"].last_error == "UNREGISTERED"
    assert rows["supplier-a"].last_error == "INVALID_ARGUMENT"
    flaky = rows["supplier-b"]
    assert flaky.status == "pending" and flaky.tokens == ["flaky-token-4"]
    # Backoff: at least Retry-After (1 s) after FCM answered, which was after ``started`` (not
    # measured from now: on a loaded machine the asserts above can take longer than the backoff).
    assert flaky.available_at >= started + timedelta(seconds=1)
    assert not await _active(session_factory, "unreg-token-2")
    assert not await _active(session_factory, "invalid-token-3")
    assert await _active(session_factory, "ok-token-1")

    assert (await deliver_once(session_factory, gateway, worker_id="w1")).claimed == 0  # not due yet
    later = await deliver_once(
        session_factory, gateway, worker_id="w1", max_attempts=2, now=utcnow() + timedelta(hours=2)
    )
    assert (later.claimed, later.sent, later.failed) == (2, 1, 1)
    rows = await _rows(session_factory)
    assert rows["supplier-b"].attempts == 2
    # UNAVAILABLE every time: retried until the attempts run out.
    assert (rows["field-north"].status, rows["field-north"].attempts) == ("failed", 2)
    assert rows["field-north"].last_error == "UNAVAILABLE"
    [message] = fake.messages_for("flaky-token-4")
    assert message["notification"] == {"title": "supplier-b", "body": "hello"}
    # A dead token is never tried again.
    async with session_factory() as s, s.begin():
        await push.enqueue(s, user_id=users["dist-south"], kind="alert", title="again")
    again = await deliver_once(session_factory, gateway, worker_id="w1")
    assert again.dropped == 1 and fake.attempts_for("unreg-token-2") == 1


async def test_batches_of_500_and_two_workers_never_send_twice(
    session_factory, settings, network, fake, gateway
) -> None:
    users = [u.id for u in network.users.values()]
    for i, user_id in enumerate(users):
        await _device(session_factory, user_id, f"bulk-{i}")
    async with session_factory() as s, s.begin():
        for n in range(520):
            await push.enqueue(s, user_id=users[n % len(users)], kind="alert", title=f"n{n}")

    async def worker(name: str) -> int:
        sent = 0
        while (report := await deliver_once(session_factory, gateway, worker_id=name)).claimed:
            assert report.claimed <= 500
            sent += report.sent
        return sent

    async def job() -> int:  # the scheduled job: drains in rounds of push_batch_size
        return (await deliver_pushes(session_factory, settings, gateway=gateway, worker_id="job")).sent

    counts = await asyncio.gather(worker("a"), job())
    assert sum(counts) == 520
    push_ids = Counter(m["message"]["data"]["push_id"] for m in fake.messages)
    assert len(push_ids) == 520 and set(push_ids.values()) == {1}


async def test_rounds_in_flight_send_each_row_once_and_add_up(
    session_factory, network, fake, gateway
) -> None:
    users = [u.id for u in network.users.values()]
    for i, user_id in enumerate(users):
        await _device(session_factory, user_id, f"round-{i}")
    async with session_factory() as s, s.begin():
        for n in range(350):
            await push.enqueue(s, user_id=users[n % len(users)], kind="alert", title=f"r{n}")

    report = await deliver_rounds(session_factory, gateway, worker_id="w", batch_size=50, in_flight=3)

    assert (report.claimed, report.sent, report.messages) == (350, 350, 350)
    assert report.outcomes == {"sent": 350}
    push_ids = Counter(m["message"]["data"]["push_id"] for m in fake.messages)
    assert len(push_ids) == 350 and set(push_ids.values()) == {1}
    rows = await _rows(session_factory)
    assert {r.status for r in rows.values()} == {"sent"} and {r.attempts for r in rows.values()} == {1}
    assert {r.claimed_by for r in rows.values()} == {"w"} and all(
        r.lease_until is None for r in rows.values()
    )


async def test_chat_skips_connected_users_sync_collapses_and_quiet_hours(
    session_factory, network: Network, fake, gateway
) -> None:
    north, south = network.user("dist-north").id, network.user("dist-south").id
    await _device(session_factory, north, "north-phone")
    await _device(session_factory, south, "south-phone")
    async with session_factory() as s, s.begin():
        await push.enqueue(s, user_id=north, kind="chat", title="chat-north", body="hi")
        await push.request_sync(s, [south, south])
        await push.request_sync(s, [south])
        await presence.connected(s, user_id=north, node_id="node-a")  # north opened a socket since
    report = await deliver_once(session_factory, gateway, worker_id="w")
    assert (report.claimed, report.sent, report.dropped) == (2, 1, 1)
    [tickle] = fake.messages_for("south-phone")
    assert tickle["data"]["kind"] == "sync" and "notification" not in tickle
    assert tickle["android"]["collapse_key"] == "sync"
    assert fake.messages_for("north-phone") == []

    async with session_factory() as s, s.begin():
        now = utcnow()
        minute = now.hour * 60 + now.minute
        await push.set_preferences(
            s, south, quiet_start_min=(minute - 60) % 1440, quiet_end_min=(minute + 60) % 1440
        )
        row = await push.enqueue(s, user_id=south, kind="chat", title="quiet", body="later", now=now)
        assert row is not None and row.available_at > now + timedelta(minutes=58)
        await push.set_preferences(s, south, chat_enabled=False)
        assert await push.enqueue(s, user_id=south, kind="chat", title="off") is None
    with pytest.raises(push.InvalidPreference):
        async with session_factory() as s:
            await push.set_preferences(s, south, quiet_start_min=10)
