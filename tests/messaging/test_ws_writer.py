"""The live socket's send writer: how long a send waits for its batch (without a database), and
the connection it keeps between batches."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, text

from backend.messaging import service
from mobile_api import ws_writer
from tests.messaging.helpers import actor

STORE_S = 0.2  # one batch's transaction
LINGER_S = 0.1  # the longest a batch waits for more sends


async def test_a_send_that_waited_behind_a_commit_does_not_linger_again(monkeypatch) -> None:
    """The first send of a quiet moment lingers for company; one that already waited for the
    previous batch's commit longer than the linger is stored as soon as the writer is free."""
    monkeypatch.setattr(ws_writer, "MAX_LINGER_S", LINGER_S)
    loop = asyncio.get_running_loop()
    writer = ws_writer.SendWriter(lambda: None)
    sizes: list[int] = []

    async def store(batch: list[Any]) -> list[Any]:
        await asyncio.sleep(STORE_S)
        sizes.append(len(batch))
        return [None] * len(batch)

    writer._store = store  # type: ignore[method-assign]
    writer.rate = 50.0  # sends per second: the writer lingers the whole LINGER_S for a batch
    writer.start()
    try:
        started = loop.time()
        first = await writer.submit(object())  # type: ignore[arg-type]
        await asyncio.sleep(LINGER_S + STORE_S / 4)  # the first batch is being stored
        second_at = loop.time()
        second = await writer.submit(object())  # type: ignore[arg-type]
        await first
        first_s = loop.time() - started
        await second
        second_s = loop.time() - second_at
    finally:
        await writer.stop()
    assert sizes == [1, 1]
    assert first_s >= LINGER_S + STORE_S - 0.01  # it lingered
    # It waited ~0.15 s for the first commit, then its own store: no second linger (0.45 s).
    assert second_s < (STORE_S - STORE_S / 4) + STORE_S + LINGER_S / 2


async def _conversation(session_factory: Any, network: Any) -> tuple[Any, str]:
    sup, dist = actor(network, "supplier-a"), actor(network, "dist-north")
    async with session_factory() as s, s.begin():
        conv = await service.create_conversation(s, sup, kind="direct", member_ids=[dist.user_id])
    return sup, conv.id


async def test_the_writer_keeps_one_connection_while_sends_keep_coming(
    engine, session_factory, network, monkeypatch
) -> None:
    """Batch after batch on the connection the writer kept (no pool checkout, no pre-ping, its
    statements prepared once); back to the pool once nothing came for HOLD_IDLE_S."""
    monkeypatch.setattr(ws_writer, "HOLD_IDLE_S", 0.3)
    sup, conv_id = await _conversation(session_factory, network)
    checkouts: list[object] = []
    pool = engine.sync_engine.pool
    event.listen(pool, "checkout", lambda *_a: checkouts.append(1))
    writer = ws_writer.SendWriter(lambda **kw: session_factory(**kw), engine.connect)
    writer.start()
    try:
        seqs = []
        for n in range(3):  # three batches, one after the other
            done = await writer.submit(service.SendRequest(sup, conv_id, f"k{n}", f"hello {n}"))
            seqs.append((await done).seq)
        assert seqs == [1, 2, 3]
        assert writer.batches == 3
        assert len(checkouts) == 1 and writer.connections_taken == 1
        assert writer.conn is not None
        await asyncio.sleep(0.6)  # idle longer than HOLD_IDLE_S: given back
        assert writer.conn is None
        assert pool.checkedout() == 0
        done = await writer.submit(service.SendRequest(sup, conv_id, "k3", "later"))
        assert (await done).seq == 4
        assert len(checkouts) == 2
    finally:
        await writer.stop()
    assert writer.conn is None and pool.checkedout() == 0
    async with session_factory() as s:
        stored = await service.list_messages(s, sup, conv_id)
    assert [m.body for m in stored] == ["hello 0", "hello 1", "hello 2", "later"]


async def test_a_kept_connection_that_died_costs_no_send(engine, session_factory, network) -> None:
    """No pre-ping on the kept connection: when the server dropped it since the last batch, the
    batch is stored again on a connection the pool checked, and the send is answered "sent"."""
    if engine.dialect.name != "postgresql":
        pytest.skip("ends the connection from the server side (pg_terminate_backend)")
    sup, conv_id = await _conversation(session_factory, network)
    writer = ws_writer.SendWriter(lambda **kw: session_factory(**kw), engine.connect)
    writer.start()
    try:
        assert (await (await writer.submit(service.SendRequest(sup, conv_id, "d1", "one")))).seq == 1
        raw = await writer.conn.get_raw_connection()
        pid = raw.driver_connection.get_server_pid()
        async with engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await other.commit()
        await asyncio.sleep(0.1)
        result = await (await writer.submit(service.SendRequest(sup, conv_id, "d2", "two")))
        assert not isinstance(result, ws_writer.Busy), result
        assert result.seq == 2
        assert writer.connections_taken == 2
    finally:
        await writer.stop()
