"""Which scopes a caller is entitled to, recomputed from the central store at every pull.

A scope is a named slice of the change feed (see ``backend.changefeed``). The phone never
says what it may see; the server works it out here, in one place, from the caller's role,
organisation, channel authorisations, route and conversation memberships.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.catalog.service import entitled_suppliers, trading_partners
from backend.identity import Actor
from backend.messaging.service import SUPPORT_SCOPE, is_agent, member_conversation_ids
from backend.territory.service import route_terminal_ids

REFERENCE = "reference"
# Agent-only rows (internal notes on support conversations) live here; no customer ever gets it.
FIELD_ROLES = ("field_staff", "inspector")


def org_scope(org_id: str) -> str:
    return f"org:{org_id}"


def org_card_scope(org_id: str) -> str:
    """An organisation's own row alone (its name on a partner's orders and claims)."""
    return f"orgcard:{org_id}"


def catalog_scope(supplier_id: str) -> str:
    return f"catalog:{supplier_id}"


def user_scope(user_id: str) -> str:
    return f"user:{user_id}"


def terminal_scope(terminal_id: str) -> str:
    return f"terminal:{terminal_id}"


def conversation_scope(conversation_id: str) -> str:
    return f"conv:{conversation_id}"


async def entitled_scopes(session: AsyncSession, actor: Actor) -> set[str]:
    """Every scope ``actor`` may pull now."""
    scopes = {REFERENCE, user_scope(actor.user_id), org_scope(actor.org_id)}
    scopes |= {catalog_scope(s) for s in await _catalog_suppliers(session, actor)}
    scopes |= {org_card_scope(o) for o in await trading_partners(session, actor)}
    if actor.role in FIELD_ROLES:
        scopes |= {terminal_scope(t) for t in await route_terminal_ids(session, actor.user_id)}
    scopes |= {conversation_scope(c) for c in await member_conversation_ids(session, actor.user_id)}
    if is_agent(actor):
        scopes.add(SUPPORT_SCOPE)
    return scopes


async def _catalog_suppliers(session: AsyncSession, actor: Actor) -> set[str]:
    """The rule REST catalog reads follow too (:func:`backend.catalog.service.entitled_suppliers`)."""
    return await entitled_suppliers(session, actor)
