"""Routes: which terminals each field user visits.

The sync engine reads :func:`route_terminal_ids` to grant ``terminal:<id>`` scopes; inventory
and inspections ask :func:`require_terminal_access` before a field user touches a terminal.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.batchcache import batch_cache
from backend.errors import DomainError
from backend.identity import Actor, Organisation, User
from backend.identity.errors import NotAllowed, UserNotFound
from backend.territory.errors import AssignmentNotFound, NotOnRoute, NotRouteUser, TerminalNotFound
from backend.territory.models import RouteAssignment

ROUTE_ROLES = ("field_staff", "inspector")


async def get_terminal(session: AsyncSession, terminal_id: str) -> Organisation:
    terminal = await session.get(Organisation, terminal_id)
    if (refusal := terminal_refusal(terminal_id, terminal)) is not None:
        raise refusal
    return terminal  # type: ignore[return-value]  # not None: refused above


class OrgFacts(Protocol):
    """What the rules read of an organisation (an ``Organisation`` or a row read in bulk)."""

    id: str
    kind: str
    parent_id: str | None


def terminal_refusal(terminal_id: str, org: OrgFacts | None) -> TerminalNotFound | None:
    """Why ``org`` (read by id ``terminal_id``) is not a terminal, or ``None`` if it is one."""
    if org is None or org.kind != "terminal" or org.parent_id is None:
        return TerminalNotFound(f"terminal {terminal_id} does not exist")
    return None


def require_route_manager(actor: Actor, distributor_id: str) -> None:
    """Administrators, or staff of the distributor that serves the terminal (another
    distributor's terminal looks missing)."""
    if actor.is_admin or (actor.role == "distributor_staff" and actor.org_id == distributor_id):
        return
    if actor.org_id != distributor_id:
        raise TerminalNotFound("no such terminal")
    raise NotAllowed("only an administrator or the distributor's staff may change routes")


async def route_terminal_ids(session: AsyncSession, user_id: str) -> list[str]:
    """The terminals on ``user_id``'s route, in a stable order."""
    rows = await session.execute(
        select(RouteAssignment.terminal_id)
        .where(RouteAssignment.user_id == user_id)
        .order_by(RouteAssignment.terminal_id)
    )
    return list(rows.scalars())


async def is_on_route(session: AsyncSession, user_id: str, terminal_id: str) -> bool:
    memo = batch_cache(session, "on_route")
    if memo is not None and (user_id, terminal_id) in memo:
        return memo[(user_id, terminal_id)]
    row = await session.execute(
        select(RouteAssignment.id).where(
            RouteAssignment.user_id == user_id, RouteAssignment.terminal_id == terminal_id
        )
    )
    found = row.first() is not None
    if memo is not None:
        memo[(user_id, terminal_id)] = found
    return found


def _forget_route(session: AsyncSession, user_id: str, terminal_id: str) -> None:
    memo = batch_cache(session, "on_route")
    if memo is not None:
        memo.pop((user_id, terminal_id), None)


async def require_terminal_access(session: AsyncSession, actor: Actor, terminal: Organisation) -> None:
    """Who may work at a terminal: its distributor's staff and inspectors, field staff on whose
    route it is, and administrators."""
    if needs_route(actor, terminal):
        on_route = await is_on_route(session, actor.user_id, terminal.id)
    else:
        on_route = False
    if (refusal := terminal_access_refusal(actor, terminal, on_route)) is not None:
        raise refusal


def needs_route(actor: Actor, terminal: OrgFacts) -> bool:
    """Whether :func:`terminal_access_refusal` depends on the actor's route (a field user of the
    terminal's distributor)."""
    return not actor.is_admin and actor.org_id == terminal.parent_id and actor.role == "field_staff"


def terminal_access_refusal(actor: Actor, terminal: OrgFacts, on_route: bool) -> DomainError | None:
    """The rule of :func:`require_terminal_access` on facts read already (``on_route``: the
    terminal is on the actor's route; only read when :func:`needs_route`)."""
    if actor.is_admin:
        return None
    if actor.org_id != terminal.parent_id:
        return TerminalNotFound("no such terminal")  # another distributor's looks missing
    if actor.role in ("distributor_staff", "inspector"):
        return None
    if actor.role == "field_staff":
        return None if on_route else NotOnRoute("that terminal is not on your route")
    return NotAllowed("your role may not work at terminals")


async def assign_terminal(
    session: AsyncSession, actor: Actor, *, user_id: str, terminal_id: str
) -> RouteAssignment:
    """Put a terminal on a field user's route (idempotent)."""
    terminal = await get_terminal(session, terminal_id)
    distributor_id = terminal.parent_id
    assert distributor_id is not None
    require_route_manager(actor, distributor_id)
    user = await session.get(User, user_id)
    if user is None or (not actor.is_admin and user.org_id != actor.org_id):
        raise UserNotFound(f"user {user_id} does not exist")
    if user.role not in ROUTE_ROLES or user.org_id != distributor_id:
        raise NotRouteUser(
            "routes are for field staff and inspectors of the terminal's distributor",
            details={"role": user.role},
        )
    existing = (
        await session.execute(
            select(RouteAssignment).where(
                RouteAssignment.user_id == user_id, RouteAssignment.terminal_id == terminal_id
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    assignment = RouteAssignment(
        user_id=user_id, terminal_id=terminal_id, distributor_id=distributor_id, assigned_by=actor.user_id
    )
    session.add(assignment)
    await session.flush()
    _forget_route(session, user_id, terminal_id)
    return assignment


async def unassign_terminal(session: AsyncSession, actor: Actor, *, user_id: str, terminal_id: str) -> None:
    """Take a terminal off a route; the phone receives a tombstone and loses the terminal scope."""
    assignment = (
        await session.execute(
            select(RouteAssignment).where(
                RouteAssignment.user_id == user_id, RouteAssignment.terminal_id == terminal_id
            )
        )
    ).scalar_one_or_none()
    if assignment is None or not (actor.is_admin or actor.org_id == assignment.distributor_id):
        raise AssignmentNotFound("that terminal is not on that user's route")
    require_route_manager(actor, assignment.distributor_id)
    await session.delete(assignment)
    await session.flush()
    _forget_route(session, user_id, terminal_id)


def route_visibility(actor: Actor, stmt: Select) -> Select:
    """Administrators see every route, distributor staff their distributor's, others their own."""
    if actor.is_admin:
        return stmt
    if actor.role == "distributor_staff":
        return stmt.where(RouteAssignment.distributor_id == actor.org_id)
    return stmt.where(RouteAssignment.user_id == actor.user_id)
