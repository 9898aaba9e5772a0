"""Helpers for sync tests: phones signed in over the API, and the server's view of a user's scopes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.changefeed import ChangeLog, ScopeRow
from backend.identity.service import load_actor
from sync.client import ReferenceClient
from sync.scopes import entitled_scopes
from tests.factories import login


async def signed_in_phone(
    client: Any, username: str, *, client_id: str | None = None, **kwargs: Any
) -> ReferenceClient:
    client_id = client_id or f"{username}-phone"
    tokens = await login(client, username, client_id=client_id)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    return ReferenceClient(client, client_id=client_id, headers=headers, **kwargs)


async def server_view(session_factory: Any, user_id: str) -> dict[tuple[str, str, str], tuple[int, Any]]:
    """What the server holds in every scope the user is entitled to now, keyed like a replica."""
    async with session_factory() as session:
        actor = await load_actor(session, user_id, None)
        scopes = await entitled_scopes(session, actor)
        rows = await session.execute(
            select(ScopeRow.scope, ScopeRow.entity, ScopeRow.entity_id, ScopeRow.version, ChangeLog.data)
            .join(ChangeLog, ChangeLog.id == ScopeRow.change_id)
            .where(ScopeRow.scope.in_(sorted(scopes)))
        )
        return {(s, e, i): (v, d) for s, e, i, v, d in rows}
