"""Two real server processes on 127.0.0.1 sharing Redis: a message sent to one reaches a socket
connected to the other (Litestar channels, Redis pub/sub backend)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.config import Settings
from fieldsync.simulation.server import free_port
from tests.dbs import pg_url
from tests.messaging.wsclient import Socket

REDIS_ENV = "FIELDSYNC_TEST_REDIS_URL"


def _start(settings: Settings, redis_url: str, tmp: Path, name: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "FIELDSYNC_DATABASE_URL": settings.resolved_database_url,
        "FIELDSYNC_REDIS_URL": redis_url,
        "FIELDSYNC_SECRET_KEY": settings.secret_key,
        "FIELDSYNC_VAR_DIR": str(tmp / name),
        "FIELDSYNC_RUN_WORKER_IN_PROCESS": "false",
        "FIELDSYNC_ENV": "test",
        "FIELDSYNC_REQUESTS_PER_MINUTE": "100000",
        "FIELDSYNC_LOG_LEVEL": "WARNING",
    }
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "fieldsync.wiring:app_factory"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--ws", "websockets-sansio", "--log-level", "warning"]
    log = open(tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), f"http://127.0.0.1:{port}"


def _wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(base + "/health/live", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"server did not start: {log.read_text()[-2000:]}")


@pytest.fixture
def two_servers(settings: Settings, network, tmp_path: Path) -> Iterator[tuple[str, str]]:
    redis_url = os.environ.get(REDIS_ENV)
    if not redis_url:
        pytest.skip(f"set {REDIS_ENV} to run the two-process Redis fan-out test")
    if settings.is_sqlite and pg_url():
        # Starting two servers is slow; with PostgreSQL available the test runs once, there.
        pytest.skip("runs once, on PostgreSQL (the production fan-out set-up)")
    procs = [_start(settings, redis_url, tmp_path, name) for name in ("a", "b")]
    try:
        for (proc, base), name in zip(procs, ("a", "b"), strict=True):
            _wait_ready(base, proc, tmp_path / f"{name}.log")
        yield procs[0][1], procs[1][1]
    finally:
        for proc, _ in procs:
            proc.terminate()
        for proc, _ in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


async def _login(http: httpx.AsyncClient, username: str) -> str:
    response = await http.post(
        "/auth/login", json={"username": username, "password": "fieldsync-demo", "client_id": "p-" + username}
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def test_message_sent_to_one_process_reaches_a_socket_on_the_other(two_servers, network) -> None:
    base_a, base_b = two_servers
    ws_b = base_b.replace("http://", "ws://") + "/ws"
    async with httpx.AsyncClient(base_url=base_a, timeout=10) as a, httpx.AsyncClient(base_url=base_b) as b:
        supplier = await _login(a, "supplier-a")
        on_b = await Socket.open(ws_b, await _login(b, "dist-north"))
        outsider_on_b = await Socket.open(ws_b, await _login(b, "dist-south"))
        auth = {"Authorization": f"Bearer {supplier}"}
        conv = await a.post(
            "/conversations",
            json={"kind": "direct", "member_ids": [network.user("dist-north").id]},
            headers=auth,
        )
        conv_id = conv.json()["id"]
        await on_b.wait_for(lambda e: e["type"] == "member.added" and e["conversation_id"] == conv_id)
        sent_at = time.monotonic()
        await a.post(
            f"/conversations/{conv_id}/messages",
            json={"client_message_id": "x1", "body": "across processes"},
            headers=auth,
        )
        event = await on_b.wait_for(lambda e: e["type"] == "message", timeout=10)
        assert event["message"]["body"] == "across processes"
        assert time.monotonic() - sent_at < 5
        await asyncio.sleep(0.3)
        leaked = [e for e in outsider_on_b.seen + await outsider_on_b.drain(0.3) if e.get("conversation_id")]
        assert leaked == []

        # Sent over a socket on A (stored in batches, published in one Redis pipeline): every
        # message reaches B, in order.
        on_a = await Socket.open(base_a.replace("http://", "ws://") + "/ws", supplier)
        for n in range(50):
            await on_a.send(
                {"type": "send", "conversation_id": conv_id, "client_message_id": f"p{n}", "body": f"{n}"}
            )
        got = []
        while len(got) < 50:
            got.append((await on_b.wait_for(lambda e: e["type"] == "message", timeout=10))["message"]["body"])
        assert got == [str(n) for n in range(50)]
        for s in (on_a, on_b, outsider_on_b):
            await s.close()


async def test_sockets_opened_all_at_once_on_a_fresh_process_all_hear_their_channels(two_servers) -> None:
    """After a restart every phone reconnects at the same moment: no socket may end up deaf
    (redis-py's pub/sub connection must exist before the first concurrent subscriptions)."""
    base_a, base_b = two_servers
    ws_b = base_b.replace("http://", "ws://") + "/ws"
    people = ["supplier-a", "supplier-b", "dist-north", "dist-south", "field-north", "inspector-north"]
    async with httpx.AsyncClient(base_url=base_a, timeout=10) as a, httpx.AsyncClient(base_url=base_b) as b:
        tokens = [await _login(b, name) for name in people]
        sockets = await asyncio.gather(*(Socket.open(ws_b, token) for token in tokens))
        auth = {"Authorization": f"Bearer {await _login(a, 'support')}"}
        members = [(await b.get("/me", headers={"Authorization": f"Bearer {t}"})).json() for t in tokens]
        conv = await a.post(
            "/conversations",
            json={"kind": "group", "title": "all hands", "member_ids": [m["user"]["id"] for m in members]},
            headers=auth,
        )
        assert conv.status_code in (200, 201), conv.text
        conv_id = conv.json()["id"]
        for name, sock in zip(people, sockets, strict=True):
            added = await sock.wait_for(lambda e: e["type"] == "member.added", timeout=10)
            assert added["conversation_id"] == conv_id, name
        body = {"client_message_id": "all-1", "body": "hello all"}
        await a.post(f"/conversations/{conv_id}/messages", json=body, headers=auth)
        for sock in sockets:
            event = await sock.wait_for(lambda e: e["type"] == "message", timeout=10)
            assert event["message"]["body"] == "hello all"
        for sock in sockets:
            await sock.close()
