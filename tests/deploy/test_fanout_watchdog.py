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


async def test_a_killed_subscriber_connection_is_logged_restarted_and_heard_again(
    redis_url: str, sqlite_template: SqliteTemplate, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(
        {},
        env="test",
        database_url=sqlite_template.fresh(tmp_path / "db"),
        var_dir=str(tmp_path / "var"),
        secret_key="test-secret-key-0123456789abcdef0123456789",
        run_worker_in_process=False,
        redis_url=redis_url,
    )
    app = build_app(settings)
    admin = Redis.from_url(redis_url)
    try:
        async with AsyncTestClient(app=app) as client:
            hub = app.state.hub
            subscriber = await in_app(client, hub.channels.subscribe, [hub.name(CHANNEL)])
            events = subscriber.iter_events()
            assert await in_app(client, _hears, hub, events, {"n": 1})

            # kill exactly this process's subscriber connection (the Redis server is shared)
            pubsub = hub.channels._backend._pub_sub
            host, port = pubsub.connection._writer.get_extra_info("sockname")[:2]
            mine = [c for c in await admin.client_list() if c["addr"] == f"{host}:{port}"]
            assert len(mine) == 1 and mine[0]["cmd"] == "subscribe"
            with caplog.at_level(logging.WARNING, logger="fieldsync.ws"):
                await admin.execute_command("CLIENT KILL ID", mine[0]["id"])
                for _ in range(100):
                    if hub.watchdog.restarts:
                        break
                    await asyncio.sleep(0.05)
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
