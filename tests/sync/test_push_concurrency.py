"""Devices pushing at the same moment: of one user (issue 12, class 4), and racing for a first row.

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
from sqlalchemy import event, select

import backend.inventory.batch as batch
from backend.inventory.models import StockLevel, StockLocation
from fieldsync.wiring import build_app
from sync.batch.apply import STATS
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


async def test_pushes_racing_for_a_first_location_stay_sets(settings, network, session_factory, monkeypatch):
    """Devices counting different SKUs at once at a place with no stock location yet: each batch's
    set reads no location and inserts one; all but one lose that race (PostgreSQL: a unique
    violation once the winner commits). A loser runs its batch as sets again, on the winner's
    location, instead of one by one: every count applied, one location, and no batch gave up
    for good. On PostgreSQL the sets' first reads wait for each other, so the race is certain
    (SQLite runs one writer at a time: there the pushes go one after the other)."""
    postgres = settings.resolved_database_url.startswith("postgresql")
    if postgres:
        real_read, all_read, first_reads = batch._read, asyncio.Barrier(DEVICES), [DEVICES]

        async def read_together(*args, **kwargs):
            facts = await real_read(*args, **kwargs)
            if first_reads[0] > 0:  # a set's second run reads alone
                first_reads[0] -= 1
                await asyncio.wait_for(all_read.wait(), 30)
            return facts

        monkeypatch.setattr(batch, "_read", read_together)
    app = build_app(settings)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edge")
    warehouse = network.user("inspector-north").org_id
    products = sorted(network.products.values(), key=lambda p: p.sku)[: DEVICES * 3]
    before = dict(STATS)
    try:
        phones = []
        for i in range(DEVICES):
            tokens = await login(http, "inspector-north", client_id=f"first-{i}")
            phones.append({"Authorization": f"Bearer {tokens['access_token']}"})

        async def push(headers, i: int):
            counts = [
                {
                    "id": uuid.uuid4().hex,
                    "seq": n + 1,
                    "name": "stock_check.record",
                    "args": {
                        "id": uuid.uuid4().hex,
                        "org_id": warehouse,
                        "product_id": product.id,
                        "counted_qty": 5 + n,
                        "observed_at": "2026-12-01T08:00:00Z",
                    },
                }
                for n, product in enumerate(products[i * 3 : i * 3 + 3])
            ]
            body = {"client_id": f"first-{i}", "protocol": 1, "mutations": counts}
            return await http.post("/sync/v1/push", json=body, headers=headers)

        replies = await asyncio.gather(*(push(h, i) for i, h in enumerate(phones)))
        assert [r.status_code for r in replies] == [200] * DEVICES, [r.text for r in replies]
        statuses = {res["status"] for r in replies for res in r.json()["results"]}
        assert statuses == {"applied"}
    finally:
        await http.aclose()
        await app.state.engine.dispose()
    raced = STATS["raced"] - before.get("raced", 0)
    gave_up = STATS["gave_up"] - before.get("gave_up", 0)
    assert gave_up == raced, f"{gave_up} sets gave up, {raced} of them ran again"
    assert raced == (DEVICES - 1 if postgres else 0), raced
    async with session_factory() as session:
        locations = (
            await session.execute(select(StockLocation).where(StockLocation.org_id == warehouse))
        ).all()
        assert len(locations) == 1
        levels = (await session.execute(select(StockLevel))).scalars().all()
        assert len(levels) == DEVICES * 3 and {lv.version for lv in levels} == {1}
