"""The demo seed of the field domain: routes, stock history, templates with a revision, visits."""

from __future__ import annotations

from sqlalchemy import func, select

from backend.inspections import Inspection, InspectionTemplate
from backend.inventory import StockCheck, StockLevel
from backend.territory import RouteAssignment
from tests.factories import build_network


async def test_demo_seed_has_field_activity(session_factory):
    async with session_factory() as session:
        net = await build_network(session, activity=True)
        await session.commit()

    async def count(stmt):
        return await session.scalar(stmt)

    async with session_factory() as session:
        field = net.user("field-north")
        assert await count(select(func.count()).where(RouteAssignment.user_id == field.id)) > 0
        assert await count(select(func.count()).select_from(StockCheck)) > 0
        assert await count(select(func.count()).where(StockCheck.discrepancy.is_(True))) > 0
        assert await count(select(func.count()).where(StockLevel.terminal_id.is_not(None))) > 0
        versions = (await session.execute(select(InspectionTemplate.version_no))).scalars().all()
        assert sorted(versions) == [1, 1, 2]
        statuses = dict(
            (await session.execute(select(Inspection.status, func.count()).group_by(Inspection.status))).all()
        )
        assert statuses["submitted"] > 0 and statuses["in_progress"] > 0
