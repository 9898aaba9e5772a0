"""Push delivery is at least once: a worker killed with ``kill -9`` inside the window (FCM has
accepted its round, its settle has not committed) leaves the rows ``sending``; once their lease
lapses another worker sends them again, with the same ``data.push_id``. The fake FCM counts both
copies; the phone (the SDK's ``SeenPushes`` over its SQLite storage, in Node, restarted between
the copies) shows the push once.

The window is held open by the fake FCM, not by fieldsync: it records the message and keeps its
answer back (``hold_replies``) until the worker is dead. The lease is 3 s here
(``FIELDSYNC_PUSH_LEASE_S``; 120 s by default). About 15 s on an idle machine.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from backend.db import make_engine, make_session_factory, new_id
from backend.identity import Device, User
from backend.notifications import service as push_service
from backend.notifications.models import SENDING, SENT, PushOutbox
from fieldsync.simulation.server import ROOT, WorkerProcess
from tests.dbs import PostgresDatabase
from tests.deploy.conftest import skip_loudly
from tests.fakes.fake_fcm import FakeFcm

PHONE = ROOT / "tests" / "deploy" / "phone_pushes.mjs"
SDK_DIST = ROOT / "clients" / "typescript" / "dist" / "pushes.js"
TOKEN = "fcm-token-of-the-phone"
LEASE_S = 3.0
START_S = 90.0  # a worker starting on a loaded 2-core machine


def _run(db_url: str, work: Any) -> Any:
    async def go() -> Any:
        engine = make_engine(db_url)
        try:
            async with make_session_factory(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _owe_a_chat_push(db_url: str) -> int:
    async def work(session: Any) -> int:
        user = (await session.execute(select(User).where(User.username == "dist-north"))).scalar_one()
        session.add(Device(user_id=user.id, client_id="phone-1", platform="android", push_token=TOKEN))
        row = await push_service.enqueue(
            session,
            user_id=user.id,
            kind="chat",
            title="Anna",
            body="Truck at gate 3",
            data={"conversation_id": new_id()},
            collapse_key="chat:repeat-test",
        )
        await session.flush()
        assert row is not None
        return row.id

    return _run(db_url, work)


def _outbox_row(db_url: str, row_id: int) -> tuple[str, str | None, int]:
    async def work(session: Any) -> tuple[str, str | None, int]:
        row = await session.get(PushOutbox, row_id)
        return row.status, row.claimed_by, row.attempts

    return _run(db_url, work)


def _phone_receives(storage: Path, message: dict[str, Any]) -> dict[str, Any]:
    """One app start of the phone: it handles one received push and says whether it showed it."""
    payload = {  # what FCM hands the app for this v1 message
        "data": message.get("data", {}),
        "notification": message.get("notification"),
        "collapse_key": message.get("android", {}).get("collapse_key"),
    }
    done = subprocess.run(
        ["node", str(PHONE), str(storage)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT / "clients" / "typescript",
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _wait(what: str, until: Any, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = until()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.timeout(180)
def test_a_push_resent_after_kill_9_inside_the_window_reaches_the_phone_once(
    postgres_database: PostgresDatabase | None, tmp_path: Path
) -> None:
    if postgres_database is None:
        skip_loudly("set FIELDSYNC_TEST_DATABASE_URL (workers share the outbox on PostgreSQL)")
    if shutil.which("node") is None or not SDK_DIST.exists():
        skip_loudly("node and the built SDK are needed for the phone's side (make node)")
    db_url = postgres_database.fresh(seeded=True)
    row_id = _owe_a_chat_push(db_url)
    fcm = FakeFcm().start()
    fcm.hold_replies()
    settings = {
        "google_application_credentials": str(fcm.service_account(tmp_path)),
        "fcm_endpoint": fcm.base_url,
        "push_lease_s": LEASE_S,
    }
    workers = [WorkerProcess(db_url, tmp_path / f"worker{i}", **settings) for i in (1, 2)]
    try:
        # FCM has the message; its answer is held back: the sender is inside the window
        assert fcm.accepted.wait(START_S), "no worker sent the push: " + workers[0].log_tail()
        status, holder, attempts = _outbox_row(db_url, row_id)
        assert (status, attempts) == (SENDING, 1)
        victim = next(w for w in workers if holder and holder.endswith(f"-{w.proc.pid}"))
        victim.kill()  # SIGKILL before its settle could commit
        killed_at = time.monotonic()
        fcm.release_replies()
        assert _outbox_row(db_url, row_id)[0] == SENDING  # nobody settled it

        # the survivor claims it once the lease lapsed and sends it again
        survivor = next(w for w in workers if w is not victim)
        _wait("the survivor's settle", lambda: _outbox_row(db_url, row_id)[0] == SENT, LEASE_S + 30)
        resent_after = time.monotonic() - killed_at
        status, holder, attempts = _outbox_row(db_url, row_id)
        assert holder is not None and holder.endswith(f"-{survivor.proc.pid}") and attempts == 2
    finally:
        fcm.release_replies()
        for worker in workers:
            worker.stop()
        fcm.stop()

    # the fake FCM counted the repeat: two copies to the one token, with the same push_id
    copies = [m["message"] for m in fcm.messages if m["message"]["data"].get("push_id") == str(row_id)]
    assert [c["token"] for c in copies] == [TOKEN, TOKEN]
    assert copies[0]["data"] == copies[1]["data"]
    assert copies[0]["android"]["collapse_key"] == "chat:repeat-test"
    assert LEASE_S - 1 < resent_after < LEASE_S + 30

    # the phone shows it once: the second copy arrives after an app restart and is dropped
    storage = tmp_path / "phone.db"
    first, second = (_phone_receives(storage, copy) for copy in copies)
    assert first == {"show": True, "pushId": str(row_id), "title": "Anna", "tag": "chat:repeat-test"}
    assert second == {"show": False, "pushId": str(row_id), "title": "Anna", "tag": "chat:repeat-test"}
