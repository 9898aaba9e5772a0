"""Concurrent writers: first counts and movements racing for one new level row; answers racing
for one question. Each writer has its own session and transaction (PostgreSQL runs them at once)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from backend.db import new_id
from backend.inspections import Inspection, answer_question, create_template, start_inspection
from backend.inspections.service import answers_of
from backend.inventory import StockCheck, StockLevel, record_movement, record_stock_check
from tests.inspections.test_inspections import QUESTIONS, hlc
from tests.inventory.helpers import actor, at, terminal_of

WRITERS = 6


async def test_racing_counts_and_movements_share_one_level(session_factory, network):
    staff = actor(network, "dist-north")
    warehouse, sku = network.org("dist-00").id, network.products["A-00009"].id

    async def count(n: int) -> None:
        async with session_factory() as session:
            await record_stock_check(
                session, staff, check_id=None, org_id=warehouse, product_id=sku, counted_qty=100 + n,
                observed_at=at(n), device_id=None,
            )  # fmt: skip
            await session.commit()

    async def move(n: int) -> None:
        async with session_factory() as session:
            await record_movement(
                session, org_id=warehouse, product_id=sku, qty_delta=1, reason="delivery", ref_id=f"r{n}",
                occurred_at=at(100 + n),
            )  # fmt: skip
            await session.commit()

    await asyncio.gather(*(count(n) for n in range(WRITERS)), *(move(n) for n in range(WRITERS)))
    async with session_factory() as session:
        levels = (
            (await session.execute(select(StockLevel).where(StockLevel.product_id == sku))).scalars().all()
        )
        checks = await session.scalar(
            select(func.count()).select_from(StockCheck).where(StockCheck.product_id == sku)
        )
    assert checks == WRITERS and len(levels) == 1
    # the latest count (observed last) stands; every movement after it adds up
    assert (levels[0].counted_qty, levels[0].expected_qty) == (100 + WRITERS - 1, 100 + WRITERS - 1 + WRITERS)


async def test_racing_answers_converge_on_the_latest_stamp(session_factory, network):
    async with session_factory() as session:
        template = await create_template(
            session,
            actor(network, "dist-north"),
            owner_id=network.org("dist-00").id,
            title="t",
            questions=QUESTIONS,
        )
        visit = await start_inspection(
            session, actor(network, "inspector-north"), inspection_id=None,
            terminal_id=terminal_of(network, "dist-00").id, template_id=template.id,
        )  # fmt: skip
        await session.commit()

    async def answer(n: int) -> None:
        async with session_factory() as session:
            await answer_question(
                session, actor(network, "inspector-north"), inspection_id=visit.id, question_id="facings",
                value=n, hlc=hlc(n, node=f"phone-{n}"),
            )  # fmt: skip
            await session.commit()

    await asyncio.gather(*(answer(n) for n in reversed(range(WRITERS))))
    async with session_factory() as session:
        (stored,) = await answers_of(session, visit.id)
    assert (stored.value, stored.hlc) == (WRITERS - 1, hlc(WRITERS - 1, node=f"phone-{WRITERS - 1}"))


async def test_racing_retries_of_one_client_id_store_it_once(session_factory, network):
    staff, inspector = actor(network, "dist-north"), actor(network, "inspector-north")
    warehouse, sku = network.org("dist-00").id, network.products["A-00010"].id
    shop = terminal_of(network, "dist-00")
    async with session_factory() as session:
        template = await create_template(
            session, staff, owner_id=network.org("dist-00").id, title="t", questions=QUESTIONS
        )
        await session.commit()
    check_id, visit_id = new_id(), new_id()

    async def retry() -> tuple[str, str]:
        async with session_factory() as session:
            visit = await start_inspection(
                session, inspector, inspection_id=visit_id, terminal_id=shop.id, template_id=template.id
            )
            check = await record_stock_check(
                session, staff, check_id=check_id, org_id=warehouse, product_id=sku, counted_qty=4,
                observed_at=at(0), device_id=None,
            )  # fmt: skip
            await session.commit()
            return check.id, visit.id

    assert set(await asyncio.gather(*(retry() for _ in range(WRITERS)))) == {(check_id, visit_id)}
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).where(StockCheck.id == check_id)) == 1
        assert await session.scalar(select(func.count()).where(Inspection.id == visit_id)) == 1
