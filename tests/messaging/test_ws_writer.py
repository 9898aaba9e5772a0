"""The live socket's send writer, without a database: how long a send waits for its batch."""

from __future__ import annotations

import asyncio
from typing import Any

from mobile_api import ws_writer

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
