"""The fast paths of a pull give the same answers as the plain ones: JSON passes stored data
through (msgspec.Raw), checksums come from a memo when a scope has not changed, and a pull is
one read-only transaction that runs while a write is open."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import msgspec
from sqlalchemy import select, update

from backend.catalog import PriceEntry
from backend.changefeed import ChangeLog
from backend.changefeed.reading import (
    above_watermark,
    begin_snapshot,
    feed_horizon,
    newest_changes,
    scope_checksums,
)
from backend.db import read_only, utcnow
from backend.identity import User
from backend.identity.service import load_actor
from sync.pull import pull
from sync.scopes import entitled_scopes
from tests.factories import auth_headers
from tests.sync.helpers import wait_for_watermark
from workers.jobs.sync_jobs import compact_change_log


async def _pull_all(client, headers, accept: str | None) -> list[dict]:
    """Every change of a fresh pull, pages followed to the end, decoded."""
    headers = {**headers, **({"Accept": accept} if accept else {})}
    changes, cursor = [], None
    while True:
        params = {"limit": 50, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/sync/v1/pull", params=params, headers=headers)
        assert response.status_code == 200, response.text
        decode = msgspec.msgpack.decode if accept else msgspec.json.decode
        page = decode(response.content)
        changes += page["changes"]
        cursor = page["cursor"]
        if not page["has_more"]:
            return changes


async def test_json_and_msgpack_pulls_carry_the_same_changes(client, network, session_factory):
    dist = network.user("dist-north").org_id
    async with session_factory() as session:
        prices = (
            await session.execute(select(PriceEntry).where(PriceEntry.distributor_id == dist).limit(3))
        ).scalars()
        for n, price in enumerate(prices):
            price.price_minor += 1
            if n == 0:
                await session.delete(price)  # a tombstone: no data in either format
        await session.commit()
    await wait_for_watermark(session_factory)
    headers = await auth_headers(client, "dist-north")
    as_json = await _pull_all(client, headers, None)
    as_msgpack = await _pull_all(client, headers, "application/msgpack")
    assert len(as_json) > 50
    assert as_json == as_msgpack
    assert all(isinstance(c["data"], dict) for c in as_json if "data" in c)


async def _checksums(session_factory, engine, user_id: str) -> tuple[dict, dict]:
    """(memo-backed, plain aggregate) checksums of the user's scopes, in one snapshot that holds
    every change written so far. On PostgreSQL the watermark is the cluster's: a transaction
    another test runs in another database can hold it back a moment, so take a new snapshot."""
    deadline = time.monotonic() + 20
    while True:
        async with session_factory(bind=read_only(engine)) as session:
            watermark = await begin_snapshot(session)
            scopes = sorted(await entitled_scopes(session, await load_actor(session, user_id, None)))
            assert watermark.horizon == await feed_horizon(session)
            newest = await newest_changes(session, scopes)
            held_back = above_watermark(newest, watermark)
            if not held_back:
                memo = await scope_checksums(session, scopes, newest=newest, horizon=watermark.horizon)
                plain = await scope_checksums(session, scopes)
            await session.commit()
        if not held_back:
            return memo, plain
        assert time.monotonic() < deadline, f"the watermark stayed below {held_back}"
        await asyncio.sleep(0.05)


async def test_memoised_checksums_follow_changes_and_compaction(network, session_factory, engine, settings):
    user = network.user("dist-north")
    for _ in range(2):  # the second round is answered from the memo
        memo, plain = await _checksums(session_factory, engine, user.id)
        assert memo == plain
    async with session_factory() as session:
        prices = (
            await session.execute(select(PriceEntry).where(PriceEntry.distributor_id == user.org_id).limit(4))
        ).scalars()
        for n, price in enumerate(prices):
            price.price_minor += 7
            if n == 0:
                await session.delete(price)
        await session.commit()
    await wait_for_watermark(session_factory)
    changed, plain = await _checksums(session_factory, engine, user.id)
    assert changed == plain and changed != memo
    async with session_factory() as session:
        await session.execute(update(ChangeLog).values(changed_at=utcnow() - timedelta(days=40)))
        await session.commit()
    await wait_for_watermark(session_factory)
    assert (await compact_change_log(session_factory, settings))["deleted"] > 0
    for _ in range(2):
        memo, plain = await _checksums(session_factory, engine, user.id)
        assert memo == plain == changed


async def test_pulls_run_while_a_write_transaction_is_open(network, session_factory, engine):
    user = network.user("dist-north")

    async def one_pull() -> list:
        async with session_factory(bind=read_only(engine)) as session:
            watermark = await begin_snapshot(session)
            actor = await load_actor(session, user.id, None)
            page = await pull(session, actor, watermark, cursor=None, limit=5000, cursor_key="test-key")
            await session.commit()
            return page.changes

    before = await one_pull()
    async with session_factory() as writer:
        row = await writer.get(User, user.id)
        row.display_name = "renamed while others pull"
        await writer.flush()  # the change is logged; on SQLite this transaction holds the write lock
        during = await asyncio.gather(*(one_pull() for _ in range(4)))
        await writer.commit()
    assert all(changes == before for changes in during)  # nothing uncommitted was read
    after = await one_pull()
    assert any((c.data or {}).get("display_name") == "renamed while others pull" for c in after)
