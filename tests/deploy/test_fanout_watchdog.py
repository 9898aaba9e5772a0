"""A process whose Redis subscriber connection is killed (``CLIENT KILL`` in a real Redis: what a
Redis restart or a dropped connection does) logs it, restarts its subscriber and hears again,
and says so in ``/metrics``; before the watchdog it went deaf without a word. About 1 s once
the app is built (``build_app`` itself takes 10-20 s the first time in a process: its OpenAPI
error-code scan)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from backend.config import load_settings
from fieldsync.wiring import build_app
from tests.dbs import SqliteTemplate
from tests.messaging.conftest import serve
from tests.messaging.wsclient import Socket

CHANNEL = "conv:watchdog-probe"


def in_app(client: AsyncTestClient, fn, *args):
    """Run ``fn`` on the application's event loop (the test client serves it from a thread)."""
    return asyncio.to_thread(client.blocking_portal.call, fn, *args)


async def _hears(hub, events, payload: dict) -> bool:
    """Published through Redis, heard back through this process's subscriber (app loop)."""
    hub.publish(payload, CHANNEL)
    try:
        return bool(await asyncio.wait_for(anext(events), 3))
    except TimeoutError:
        return False


async def _kill_subscriber(admin: Redis, hub) -> None:
    """Kill exactly this process's subscriber connection (the Redis server is shared), then wait
    (5 s at most) for the watchdog to restart it."""
    pubsub = hub.channels._backend._pub_sub
    host, port = pubsub.connection._writer.get_extra_info("sockname")[:2]
    mine = [c for c in await admin.client_list() if c["addr"] == f"{host}:{port}"]
    assert len(mine) == 1 and mine[0]["cmd"] == "subscribe"
    await admin.execute_command("CLIENT KILL ID", mine[0]["id"])
    for _ in range(100):
        if hub.watchdog.restarts:
            break
        await asyncio.sleep(0.05)


def _settings(redis_url: str, database_url: str, tmp_path: Path):
    return load_settings(
        {},
        env="test",
        database_url=database_url,
        var_dir=str(tmp_path / "var"),
        secret_key="test-secret-key-0123456789abcdef0123456789",
        run_worker_in_process=False,
        redis_url=redis_url,
    )


async def test_a_killed_subscriber_connection_is_logged_restarted_and_heard_again(
    redis_url: str, sqlite_template: SqliteTemplate, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = build_app(_settings(redis_url, sqlite_template.fresh(tmp_path / "db"), tmp_path))
    admin = Redis.from_url(redis_url)
    try:
        async with AsyncTestClient(app=app) as client:
            hub = app.state.hub
            subscriber = await in_app(client, hub.channels.subscribe, [hub.name(CHANNEL)])
            events = subscriber.iter_events()
            assert await in_app(client, _hears, hub, events, {"n": 1})

            with caplog.at_level(logging.WARNING, logger="fieldsync.ws"):
                await _kill_subscriber(admin, hub)
            assert hub.watchdog.restarts == 1 and hub.watchdog.up
            died = [r for r in caplog.records if r.getMessage().startswith("fan-out subscriber died")]
            assert died and died[0].levelno == logging.ERROR and "Connection closed" in died[0].getMessage()

            assert await in_app(client, _hears, hub, events, {"n": 2}), "deaf after the restart"
            ready = (await client.get("/health/ready")).json()
            assert ready["checks"]["fanout"] == "ok"
            metrics = (await client.get("/metrics")).text
            assert "fieldsync_fanout_subscriber_up 1.0" in metrics
            assert "fieldsync_fanout_subscriber_restarts_total 1.0" in metrics
            await in_app(client, hub.channels.unsubscribe, subscriber)
    finally:
        await admin.aclose()


@pytest.fixture
def seeded_db(sqlite_template: SqliteTemplate, tmp_path: Path) -> str:
    return sqlite_template.fresh(tmp_path / "db", seeded=True)  # the test network (its users)


async def test_after_a_restart_every_socket_of_the_process_is_asked_to_pull(
    redis_url: str, seeded_db: str, tmp_path: Path
) -> None:
    """What was published while the subscriber was down is lost to this process's sockets: each
    gets a ``pull`` hint once it is back (the change feed has it all, chat messages included)."""
    app = build_app(_settings(redis_url, seeded_db, tmp_path))
    admin = Redis.from_url(redis_url)
    try:
        async with serve(app) as live:
            sockets = [
                await Socket.open(live.ws_url, (await live.login(name))["access_token"])
                for name in ("dist-north", "field-north")
            ]
            for sock in sockets:  # nothing asks them to pull before
                assert not [e for e in await sock.drain(0.3) if e["type"] == "pull"]
            await _kill_subscriber(admin, app.state.hub)
            assert app.state.hub.watchdog.restarts == 1
            for sock in sockets:
                assert (await sock.wait_for(lambda e: e["type"] == "pull", timeout=5)) == {"type": "pull"}
                await sock.close()
    finally:
        await admin.aclose()
