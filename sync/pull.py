"""Pull: what changed in the caller's scopes since its cursor, read in one database snapshot.

Order of work in one response: scopes recomputed (revoked ones reported), scopes that need a
snapshot (new, asked to resync, or behind the compaction horizon) streamed from ``scope_rows``,
then the delta of caught-up scopes from the change log, below the watermark. A response that
leaves nothing more carries checksums of the scopes that changed and the client's applied seq.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.changefeed.reading import (
    FeedRow,
    Watermark,
    above_watermark,
    newest_changes,
    read_changes,
    read_snapshot,
    scope_checksums,
)
from backend.identity import Actor
from backend.syncstate import SyncClient, SyncMutation
from sync import protocol as p
from sync.cursor import Cursor, Position, decode_cursor, encode_cursor
from sync.scopes import entitled_scopes

DEFAULT_LIMIT = 500
MAX_LIMIT = 5000


async def pull(
    session: AsyncSession,
    actor: Actor,
    watermark: Watermark,
    *,
    cursor: str | None,
    limit: int = DEFAULT_LIMIT,
    client_id: str | None = None,
    resync: frozenset[str] = frozenset(),
    raw_json: bool = False,
    cursor_key: str,
) -> p.PullResponse:
    """One page for ``actor``; ``session`` is in the snapshot ``watermark`` was taken in.

    ``raw_json``: each change's ``data`` is its stored JSON text (``msgspec.Raw``), for a reply
    encoded as JSON: nothing is decoded and encoded again. ``cursor_key`` authenticates cursors
    (the server's secret key)."""
    limit = max(1, min(limit, MAX_LIMIT))
    cur = decode_cursor(cursor, actor.user_id, cursor_key)
    entitled = await entitled_scopes(session, actor)
    revoked = sorted(cur.known() - entitled)
    for scope in revoked:
        cur.forget(scope)
    resume = Position(*watermark.high)
    behind = _behind_horizon(cur, watermark.horizon)
    reset = sorted((entitled - cur.known()) | (resync & entitled) | behind)
    for scope in reset:
        cur.start_bootstrap(scope, resume)

    changes: list[p.ChangeOut] = []
    budget = limit
    for scope in sorted(cur.bootstraps):
        if budget <= 0:
            break
        budget -= await _snapshot_page(session, cur, scope, budget, changes, raw_json)
    delta_more = False
    if budget > 0 and cur.scopes:
        delta_more = await _delta_page(session, cur, watermark, budget, changes, raw_json)
    has_more = bool(cur.bootstraps) or delta_more or budget <= 0 and bool(cur.scopes)

    checksums: dict[str, p.ScopeChecksum] = {}
    last_applied: int | None = None
    pending = False
    if not has_more:
        # Newest change of each scope: which wait above the watermark (PostgreSQL: all scopes)
        # and the checksum memo's key (the scopes to checksum).
        probe = (
            cur.scopes
            if watermark.tx_limit is not None
            else [s for s, pos in cur.scopes.items() if pos.unverified]
        )
        newest = await newest_changes(session, probe)
        waiting = above_watermark(newest, watermark)
        pending = bool(waiting)
        checksums = await _checksums(session, cur, waiting, newest, watermark.horizon)
        if client_id:
            last_applied = await _last_applied_seq(session, actor.user_id, client_id, watermark)
    return p.PullResponse(
        changes=changes,
        cursor=encode_cursor(cur, actor.user_id, cursor_key),
        has_more=has_more,
        last_applied_seq=last_applied,
        reset=reset,
        resync_required=sorted(behind),
        revoked=revoked,
        checksums=checksums,
        pending=pending,
    )


def _behind_horizon(cur: Cursor, horizon: tuple[int, int] | None) -> set[str]:
    if horizon is None:
        return set()
    return {s for s, pos in cur.scopes.items() if (pos.tx, pos.id) < horizon}


def _change(row: FeedRow, *, snapshot: bool = False) -> p.ChangeOut:
    return p.ChangeOut(
        scope=row.scope,
        entity=row.entity,
        id=row.entity_id,
        op="upsert" if snapshot else row.op,
        version=row.version,
        data=row.data,
    )


async def _snapshot_page(
    session: AsyncSession, cur: Cursor, scope: str, budget: int, out: list[p.ChangeOut], raw: bool
) -> int:
    """Stream up to ``budget`` rows of ``scope``'s snapshot; on its end the scope joins the delta."""
    boot = cur.bootstraps[scope]
    rows = await read_snapshot(session, scope, (boot.entity, boot.entity_id), budget + 1, raw=raw)
    page = rows[:budget]
    out.extend(_change(r, snapshot=True) for r in page)
    if len(rows) > budget:
        boot.entity, boot.entity_id = page[-1].entity, page[-1].entity_id
    else:
        del cur.bootstraps[scope]
        cur.scopes[scope] = Position(boot.resume.tx, boot.resume.id, unverified=True)
    return len(page)


async def _delta_page(
    session: AsyncSession, cur: Cursor, watermark: Watermark, budget: int, out: list[p.ChangeOut], raw: bool
) -> bool:
    positions = {s: (pos.tx, pos.id) for s, pos in cur.scopes.items()}
    rows = await read_changes(session, positions, watermark, budget + 1, raw=raw)
    more = len(rows) > budget
    page = rows[:budget]
    out.extend(_change(r) for r in page)
    for row in page:
        cur.scopes[row.scope].unverified = True
    # Every scope read has now delivered all it holds up to the page's end (or the watermark).
    end = (page[-1].tx, page[-1].id) if more else watermark.high
    for pos in cur.scopes.values():
        if (pos.tx, pos.id) < end:
            pos.tx, pos.id = end
    return more


async def _checksums(
    session: AsyncSession,
    cur: Cursor,
    waiting: set[str],
    newest: dict[str, tuple[int, int] | None],
    horizon: tuple[int, int] | None,
) -> dict[str, p.ScopeChecksum]:
    """Checksums of the scopes changed since their last one, unless a change is still waiting
    above the watermark (the scope's rows already include it, the client does not yet)."""
    ready = [s for s, pos in cur.scopes.items() if pos.unverified and s not in waiting]
    sums = await scope_checksums(session, ready, newest=newest, horizon=horizon)
    for scope in ready:
        cur.scopes[scope].unverified = False
    return {s: p.ScopeChecksum(*sums[s]) for s in ready}


async def _last_applied_seq(session: AsyncSession, user_id: str, client_id: str, watermark: Watermark) -> int:
    """The client's highest acknowledged seq whose effects this snapshot has delivered."""
    if watermark.tx_limit is None:
        seq = (
            await session.execute(
                select(SyncClient.last_seq).where(
                    SyncClient.user_id == user_id, SyncClient.client_id == client_id
                )
            )
        ).scalar_one_or_none()
        return int(seq or 0)
    seq = (
        await session.execute(
            select(func.max(SyncMutation.seq)).where(
                SyncMutation.user_id == user_id,
                SyncMutation.client_id == client_id,
                SyncMutation.tx < watermark.tx_limit,
            )
        )
    ).scalar_one_or_none()
    return int(seq or 0)
