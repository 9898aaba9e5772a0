"""The push gate: batches queue in the server, first come first served, and all apply."""

from __future__ import annotations

import asyncio

from mobile_api.routes.sync import CONCURRENT_PUSHES
from tests.factories import auth_headers
from tests.sync.test_push import _m, _push


async def test_concurrent_pushes_queue_at_the_gate_and_all_apply(client, network, app, db_url):
    h = await auth_headers(client, "field-north")
    replies = await asyncio.gather(
        *(_push(client, h, [_m(1, display_name=f"Phone {i}")], client_id=f"phone-{i}") for i in range(6))
    )
    assert [r.status_code for r in replies] == [200] * 6
    assert all(r.json()["results"][0]["status"] == "applied" for r in replies)
    gate = app.state["push_gate"]
    backend = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    assert CONCURRENT_PUSHES[backend] == (1 if backend == "sqlite" else 8)
    # Every batch left the gate: all its places are free again.
    for _ in range(CONCURRENT_PUSHES[backend]):
        await asyncio.wait_for(gate.acquire(), timeout=5)
    assert gate.locked()
