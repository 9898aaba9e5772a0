"""SIGTERM drains an API process: unready first, in-flight pushes commit and reply, WebSockets are
closed with 1012 (reconnect elsewhere now), and the process exits within its bound."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.syncstate import SyncMutation
from fieldsync.simulation.server import ServerProcess
from mobile_api.drain import RECONNECT_CLOSE_CODE
from tests.factories import DEMO_PASSWORD, Network


async def _token(http: httpx.AsyncClient, url: str, username: str = "field-north") -> str:
    body = {
        "username": username,
        "password": DEMO_PASSWORD,
        "client_id": "drain-phone",
        "platform": "android",
    }
    reply = await http.post(url + "/auth/login", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()["access_token"]


def _push_body(count: int) -> bytes:
    mutations = [
        {"id": f"d{seq}", "seq": seq, "name": "profile.update", "args": {"display_name": f"n{seq}"}}
        for seq in range(1, count + 1)
    ]
    return json.dumps({"client_id": "drain-phone", "protocol": 1, "mutations": mutations}).encode()


async def test_sigterm_goes_unready_then_closes_sockets_with_1012_and_exits(
    db_url: str, network: Network, tmp_path: Path
) -> None:
    server = ServerProcess(db_url, tmp_path / "api", drain_delay_s=1.5, drain_timeout_s=5)
    try:
        async with httpx.AsyncClient(timeout=20) as http:
            token = await _token(http, server.url)
            ws_url = server.url.replace("http://", "ws://") + "/ws"
            sock = await websockets.connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"})
            assert json.loads(await asyncio.wait_for(sock.recv(), 10))["type"] == "ready"
            assert (await http.get(server.url + "/health/ready")).status_code == 200
            signalled = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.3)
            ready = await http.get(server.url + "/health/ready")
            assert ready.status_code == 503 and ready.json()["status"] == "draining"
            assert (await http.get(server.url + "/health/live")).status_code == 200
            # still serving while the balancer takes it out: a push now is applied and answered
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            pushed = await http.post(server.url + "/sync/v1/push", content=_push_body(3), headers=headers)
            assert pushed.status_code == 200 and pushed.json()["last_applied_seq"] == 3
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(sock.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == RECONNECT_CLOSE_CODE
            assert time.monotonic() - signalled >= 1.4  # not before the delay
        server.proc.wait(10)
        assert time.monotonic() - signalled < 1.5 + 5 + 3
    finally:
        server.stop()


async def test_a_push_in_flight_at_sigterm_commits_and_replies(
    db_url: str, network: Network, tmp_path: Path, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    server = ServerProcess(db_url, tmp_path / "api", drain_delay_s=0, drain_timeout_s=10)
    body = _push_body(50)
    sent_half = asyncio.Event()

    async def slowly() -> AsyncIterator[bytes]:
        yield body[: len(body) // 2]
        sent_half.set()
        await asyncio.sleep(1.0)  # SIGTERM arrives while the body is still coming
        yield body[len(body) // 2 :]

    try:
        async with httpx.AsyncClient(timeout=20) as http:
            token = await _token(http, server.url)
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            push = asyncio.create_task(
                http.post(server.url + "/sync/v1/push", content=slowly(), headers=headers)
            )
            await sent_half.wait()
            await asyncio.sleep(0.2)
            server.proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.3)
            with pytest.raises(httpx.ConnectError):  # no longer accepting
                await httpx.AsyncClient(timeout=2).get(server.url + "/health/live")
            reply = await push
        assert reply.status_code == 200, reply.text
        assert reply.json()["last_applied_seq"] == 50
        server.proc.wait(15)
    finally:
        server.stop()
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(SyncMutation)) == 50
