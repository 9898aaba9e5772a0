"""Two devices of one user pushing at the same moment (issue 12, class 4).

On PostgreSQL each push's first bookkeeping write (its ``sync_clients`` row) takes a key-share
lock on the user row through the foreign key; ``profile.update`` then locked that row ``FOR
UPDATE``, which conflicts with the other push's key share: a deadlock, detected after
``deadlock_timeout`` (a second), the batch retried, and under load ``503 database_busy``. The row
is now locked ``FOR NO KEY UPDATE`` (it changes no key), which a key share does not block.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import event

from fieldsync.wiring import build_app
from tests.factories import login

DEVICES = 4
ROUNDS = 3


async def test_devices_of_one_user_push_at_once_without_deadlock(settings, network):
    # Litestar's test client runs the app on its own loop, one request at a time; httpx over ASGI
    # on this loop runs them together, as a server would.
    app = build_app(settings)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edge")
    failures: list[str] = []

    def on_error(context):  # every database error the app's engine meets, retried or not
        failures.append(f"{getattr(context.original_exception, 'sqlstate', '')} {context.original_exception}")

    engine = app.state.engine.sync_engine
    event.listen(engine, "handle_error", on_error)
    try:
        phones = []
        for i in range(DEVICES):
            tokens = await login(http, "field-north", client_id=f"conc-{i}")
            phones.append({"Authorization": f"Bearer {tokens['access_token']}"})

        async def push(headers, round_no: int, i: int):
            body = {
                "client_id": f"conc-{round_no}-{i}-{uuid.uuid4().hex[:6]}",  # a new outbox: a new row
                "protocol": 1,
                "mutations": [
                    {
                        "id": uuid.uuid4().hex,
                        "seq": 1,
                        "name": "profile.update",
                        "args": {"display_name": f"r{round_no} d{i}"},
                    }
                ],
            }
            return await http.post("/sync/v1/push", json=body, headers=headers)

        for round_no in range(ROUNDS):
            replies = await asyncio.gather(*(push(h, round_no, i) for i, h in enumerate(phones)))
            assert [r.status_code for r in replies] == [200] * DEVICES, [r.text for r in replies]
            assert {r.json()["results"][0]["status"] for r in replies} == {"applied"}
    finally:
        event.remove(engine, "handle_error", on_error)
        await http.aclose()
        await app.state.engine.dispose()
    assert failures == [], failures
