"""What each caller may pull of the field rows: scopes of the rows against the sync engine's
entitlement (routes grant terminal scopes; nothing crosses distributors or suppliers)."""

from __future__ import annotations

from sqlalchemy import select

from backend.changefeed import ChangeLog
from backend.inspections import answer_question, create_template, start_inspection
from backend.inventory import record_stock_check
from backend.territory import assign_terminal, unassign_terminal
from sync.scopes import entitled_scopes
from tests.inspections.test_inspections import QUESTIONS, hlc
from tests.inventory.helpers import actor, at, terminal_of

FIELD_ENTITIES = ("stock_location", "stock_level", "inspection_template", "inspection", "inspection_answer")


async def test_field_rows_reach_only_the_entitled(session_factory, network):
    north, field = actor(network, "dist-north"), actor(network, "field-north")
    on_route, off_route = terminal_of(network, "dist-00", 0), terminal_of(network, "dist-00", 1)
    sku = network.products["A-00001"].id
    async with session_factory() as session:
        await assign_terminal(session, north, user_id=field.user_id, terminal_id=on_route.id)
        for org_id in (network.org("dist-00").id, on_route.id, off_route.id):
            await record_stock_check(
                session,
                north,
                check_id=None,
                org_id=org_id,
                product_id=sku,
                counted_qty=3,
                observed_at=at(0),
                device_id=None,
            )
        own = await create_template(
            session, north, owner_id=network.org("dist-00").id, title="t", questions=QUESTIONS
        )
        await create_template(
            session,
            actor(network, "supplier-a"),
            owner_id=network.org("sup-a").id,
            title="s",
            questions=QUESTIONS,
        )
        inspector = actor(network, "inspector-north")
        for shop in (on_route, off_route):
            visit = await start_inspection(
                session, inspector, inspection_id=None, terminal_id=shop.id, template_id=own.id
            )
            await answer_question(
                session, inspector, inspection_id=visit.id, question_id="clean", value=True, hlc=hlc(0)
            )
        await session.commit()

    async with session_factory() as session:
        rows = (
            await session.execute(
                select(ChangeLog.scope, ChangeLog.entity).where(ChangeLog.entity.in_(FIELD_ENTITIES))
            )
        ).all()
        row_scopes = {scope for scope, _ in rows}
        field_scopes = await entitled_scopes(session, field)
        assert f"terminal:{on_route.id}" in field_scopes and f"terminal:{off_route.id}" not in field_scopes
        for outsider in ("dist-south", "supplier-b"):
            leaked = row_scopes & await entitled_scopes(session, actor(network, outsider))
            # the supplier's template is in its catalog, which the authorised distributors pull
            assert leaked <= {f"catalog:{network.org('sup-a').id}"}, (outsider, leaked)
        assert f"catalog:{network.org('sup-a').id}" not in await entitled_scopes(
            session, actor(network, "supplier-b")
        )

        await unassign_terminal(session, north, user_id=field.user_id, terminal_id=on_route.id)
        await session.commit()
        assert f"terminal:{on_route.id}" not in await entitled_scopes(session, field)
