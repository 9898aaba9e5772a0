"""Territory: routes of field users, who may change them, and their change-feed scopes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.changefeed import ChangeLog
from backend.errors import NotFound, PermissionDenied
from backend.territory import assign_terminal, is_on_route, route_terminal_ids, unassign_terminal
from backend.territory.errors import AssignmentNotFound, NotRouteUser, TerminalNotFound
from tests.inventory.helpers import actor, terminal_of


async def test_assign_list_and_unassign_with_tombstones(session_factory, network):
    field = network.user("field-north")
    manager = actor(network, "dist-north")
    shops = [terminal_of(network, "dist-00", i) for i in range(2)]
    async with session_factory() as session:
        first = await assign_terminal(session, manager, user_id=field.id, terminal_id=shops[0].id)
        again = await assign_terminal(session, manager, user_id=field.id, terminal_id=shops[0].id)
        assert again.id == first.id
        await assign_terminal(session, actor(network, "admin"), user_id=field.id, terminal_id=shops[1].id)
        assert await route_terminal_ids(session, field.id) == sorted(s.id for s in shops)
        await unassign_terminal(session, manager, user_id=field.id, terminal_id=shops[0].id)
        assert await route_terminal_ids(session, field.id) == [shops[1].id]
        assert not await is_on_route(session, field.id, shops[0].id)
        await session.commit()
    async with session_factory() as session:
        ops = (
            await session.execute(
                select(ChangeLog.scope, ChangeLog.op)
                .where(ChangeLog.entity == "route_assignment", ChangeLog.entity_id == first.id)
                .order_by(ChangeLog.id)
            )
        ).all()
    scopes = {f"user:{field.id}", f"org:{field.org_id}"}
    assert {s for s, op in ops if op == "upsert"} == scopes
    assert {s for s, op in ops if op == "delete"} == scopes


async def test_route_rights_and_bad_inputs(session_factory, network):
    """Only the terminal's distributor manages its routes, and only for its field users."""
    field = network.user("field-north")
    shop = terminal_of(network, "dist-00")
    async with session_factory() as session:
        for who in ("dist-south", "supplier-a"):  # another organisation's terminal looks missing
            with pytest.raises(TerminalNotFound):
                await assign_terminal(session, actor(network, who), user_id=field.id, terminal_id=shop.id)
        for who in ("field-north", "inspector-north"):
            with pytest.raises(PermissionDenied):
                await assign_terminal(session, actor(network, who), user_id=field.id, terminal_id=shop.id)
        await assign_terminal(session, actor(network, "dist-north"), user_id=field.id, terminal_id=shop.id)
        with pytest.raises(AssignmentNotFound):
            await unassign_terminal(
                session, actor(network, "dist-south"), user_id=field.id, terminal_id=shop.id
            )
        with pytest.raises(PermissionDenied):
            await unassign_terminal(
                session, actor(network, "field-north"), user_id=field.id, terminal_id=shop.id
            )

    # bad inputs
    manager = actor(network, "dist-north")
    field = network.user("field-north")
    async with session_factory() as session:
        # a distributor's own staff are not route users; another distributor's terminal is not ours
        with pytest.raises(NotRouteUser):
            await assign_terminal(
                session,
                manager,
                user_id=network.user("dist-north").id,
                terminal_id=terminal_of(network, "dist-00").id,
            )
        with pytest.raises(NotRouteUser):
            await assign_terminal(
                session,
                actor(network, "admin"),
                user_id=field.id,
                terminal_id=terminal_of(network, "dist-20").id,
            )
        with pytest.raises(TerminalNotFound):
            await assign_terminal(session, manager, user_id=field.id, terminal_id=network.org("dist-00").id)
        with pytest.raises(NotFound):
            await assign_terminal(
                session,
                manager,
                user_id=network.user("dist-south").id,
                terminal_id=terminal_of(network, "dist-00").id,
            )
