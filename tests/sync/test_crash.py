"""A server killed with ``kill -9`` between commit and reply: the retry applies nothing twice
and loses nothing (a real server process, real HTTP)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from backend.identity import User
from fieldsync.simulation.server import free_port
from sync.client import ReferenceClient

SERVER = Path(__file__).parent / "servers" / "crashing_server.py"


async def _start(settings, marker_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "FIELDSYNC_DATABASE_URL": settings.database_url,
        "FIELDSYNC_SECRET_KEY": settings.secret_key,
        "FIELDSYNC_VAR_DIR": settings.var_dir,
        "FIELDSYNC_RUN_WORKER_IN_PROCESS": "false",
        "FIELDSYNC_ENV": "test",
    }
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, str(SERVER), str(port), str(marker_dir)], env=env, cwd=root)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base) as http:
        for _ in range(600):
            try:
                if (await http.get("/health/live")).status_code == 200:
                    return proc, base
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    proc.kill()
    raise AssertionError("the server did not start")


async def test_kill_9_between_commit_and_reply_loses_nothing_and_applies_nothing_twice(
    settings, network, session_factory, tmp_path
):
    marker, calm = tmp_path / "markers", tmp_path / "calm"
    marker.mkdir()
    calm.mkdir()
    # Both servers start together (start-up is most of this test's time); the second takes over.
    (proc, base), (proc2, base2) = await asyncio.gather(_start(settings, marker), _start(settings, calm))
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            tokens = (
                await http.post(
                    "/auth/login",
                    json={
                        "username": "field-north",
                        "password": network.password,
                        "client_id": "crashy",
                        "platform": "android",
                    },
                )
            ).json()
            phone = ReferenceClient(
                http, client_id="crashy", headers={"Authorization": f"Bearer {tokens['access_token']}"}
            )
            ids = [phone.mutate("profile.update", {"display_name": f"Name {n}"}) for n in range(3)]
            (marker / "arm").write_text("1")
            push = asyncio.create_task(phone.push())
            for _ in range(400):
                if (marker / "committed").exists():
                    break
                await asyncio.sleep(0.025)
            assert (marker / "committed").exists(), "the push never committed"
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            with pytest.raises(httpx.TransportError):
                await push
        assert len(phone.outbox()) == 3  # the phone never heard back

        user_id = network.user("field-north").id
        async with session_factory() as session:
            committed = await session.get(User, user_id)
            assert (committed.display_name, committed.version) == ("Name 2", 4)

        async with httpx.AsyncClient(base_url=base2, timeout=30) as http:
            phone.http = http
            reply = await phone.push()
            assert [r.status for r in reply.results] == ["duplicate"] * 3
            assert [r.original_status for r in reply.results] == ["applied"] * 3
            assert phone.outbox() == []
            assert [phone.result(i)["data"]["version"] for i in ids] == [2, 3, 4]
            await phone.pull()
    finally:
        for server in (proc, proc2):  # neither outlives the test, whatever failed
            if server.poll() is None:
                server.kill()
            server.wait(timeout=10)
    async with session_factory() as session:
        assert (await session.get(User, user_id)).version == 4  # applied exactly once each
    scope = f"user:{user_id}"
    assert phone.rows(scope)[(scope, "user", user_id)][1]["display_name"] == "Name 2"
