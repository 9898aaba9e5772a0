"""Helpers for sync tests: phones signed in over the API, and the server's view of a user's scopes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import func, select

from backend.changefeed import ChangeLog, ScopeRow
from backend.changefeed.reading import begin_snapshot
from backend.db import is_postgres
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


async def pull_page(phone: ReferenceClient, *, wait_s: float = 10.0, **params: Any) -> dict[str, Any]:
    """One raw pull page as JSON, pulled again while changes are ``pending`` behind the watermark."""
    deadline = time.monotonic() + wait_s
    while True:
        response = await phone.http.get("/sync/v1/pull", params=params, headers=phone.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        if not page["pending"] or time.monotonic() > deadline:
            return page
        await asyncio.sleep(0.02)


async def wait_for_watermark(session_factory: Any, *, timeout_s: float = 20.0) -> None:
    """On PostgreSQL, wait until every change written so far is below the cluster-wide watermark
    (other databases' long transactions hold it back); on SQLite there is nothing to wait for."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        async with session_factory() as session:
            if not is_postgres(session):
                return
            top = (await session.execute(select(func.max(ChangeLog.tx)))).scalar_one() or 0
            await session.commit()
            watermark = await begin_snapshot(session)
            await session.commit()
        if watermark.tx_limit is not None and watermark.tx_limit > top:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the watermark did not pass the latest change in time")


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
