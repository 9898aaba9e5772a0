"""Reading the change feed without ever skipping a change.

On PostgreSQL a change's ``id`` comes from a sequence, and sequence order is not commit order:
a transaction that took id 10 may commit after another's id 11 was read. Each change therefore
carries its transaction id ``tx`` (``pg_current_xact_id()``) and readers only read changes
whose ``tx`` is below the *watermark* — the oldest transaction running at their snapshot (see
:func:`pg_watermark`): every transaction below it has finished, so no change can later appear
behind a reader's position.
Readers order by ``(tx, id)``. On SQLite writers are serialised, ``tx`` is 0 and ``id`` order
is commit order; the watermark is simply everything committed.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Text, and_, cast, func, literal, or_, select, text, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from backend.changefeed.models import ChangeLog, FeedHorizon, ScopeRow
from backend.db import READ_ONLY, is_postgres

# An id larger than any change's: ``(tx, MAX_ID)`` is "all of transaction tx and before".
MAX_ID = 2**62


@dataclass(frozen=True, slots=True)
class Watermark:
    """What a reader in this snapshot may read: changes with ``(tx, id) <= high``."""

    high: tuple[int, int]
    # On PostgreSQL, the first transaction id a reader must not read yet (None on SQLite).
    tx_limit: int | None
    # The compaction horizon in this snapshot (see :func:`feed_horizon`).
    horizon: tuple[int, int] | None = None


async def begin_snapshot(session: AsyncSession) -> Watermark:
    """Start a repeatable-read transaction on ``session`` and return its watermark.

    The session must not be in a transaction yet. Everything read on it afterwards (scopes,
    changes, checksums, a client's applied seq) comes from this one snapshot, which cannot
    write (on SQLite: a deferred read transaction that never waits for writers).
    """
    if is_postgres(session):
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        limit, horizon = await _pg_snapshot(session)
        return Watermark(high=(limit - 1, MAX_ID), tx_limit=limit, horizon=horizon)
    await session.connection(execution_options={READ_ONLY: True})
    top, h_tx, h_id = (
        await session.execute(select(func.coalesce(func.max(ChangeLog.id), 0), *_HORIZON))
    ).one()
    return Watermark(high=(0, int(top)), tx_limit=None, horizon=_horizon(h_tx, h_id))


_HORIZON = (
    select(FeedHorizon.tx).limit(1).scalar_subquery(),
    select(FeedHorizon.change_id).limit(1).scalar_subquery(),
)


def _horizon(tx: int | None, change_id: int | None) -> tuple[int, int] | None:
    return (int(tx), int(change_id)) if tx is not None and change_id is not None else None


_SNAPSHOT = text(
    "SELECT pg_snapshot_xmax(s)::text::bigint, "
    "ARRAY(SELECT x::text::bigint FROM pg_snapshot_xip(s) AS x), "
    "(SELECT tx FROM feed_horizon LIMIT 1), (SELECT change_id FROM feed_horizon LIMIT 1) "
    "FROM pg_current_snapshot() AS s"
)
_ELSEWHERE = text(
    "SELECT backend_xid::text::bigint FROM pg_stat_activity "
    "WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()"
)


async def pg_watermark(session: AsyncSession) -> int:
    """The oldest transaction that was running at this snapshot and may write here.

    ``pg_snapshot_xmin`` would do, but it is cluster-wide: a long transaction in another
    database would stall every pull. Transactions still running in another database can never
    write this change log, so they are left out; one that already ended is kept (we cannot tell
    where it ran), which only holds this one pull back.
    """
    return (await _pg_snapshot(session))[0]


async def _pg_snapshot(session: AsyncSession) -> tuple[int, tuple[int, int] | None]:
    """(:func:`pg_watermark`, the compaction horizon), read together."""
    xmax, running, h_tx, h_id = (await session.execute(_SNAPSHOT)).one()
    if running:
        elsewhere = set((await session.execute(_ELSEWHERE)).scalars())
        running = [x for x in running if x % 2**32 not in elsewhere]
    return (int(min(running)) if running else int(xmax)), _horizon(h_tx, h_id)


@dataclass(frozen=True, slots=True)
class FeedRow:
    tx: int
    id: int
    scope: str
    entity: str
    entity_id: str
    op: str
    version: int
    # The row's JSON document, or with ``raw=True`` its JSON text as ``msgspec.Raw``.
    data: dict[str, Any] | msgspec.Raw | None


# A change's columns as :class:`FeedRow` has them, but ``data`` (see :func:`_data`).
_FEED_COLUMNS = (
    ChangeLog.tx,
    ChangeLog.id,
    ChangeLog.scope,
    ChangeLog.entity,
    ChangeLog.entity_id,
    ChangeLog.op,
    ChangeLog.version,
)


def _data(raw: bool) -> ColumnElement[Any]:
    """The ``data`` column decoded, or as JSON text (a cast to text: no decoding on our side)."""
    return cast(ChangeLog.data, Text).label("data") if raw else ChangeLog.data


def _rows(result: Any, raw: bool) -> list[FeedRow]:
    if not raw:
        return [FeedRow(*row) for row in result]
    # JSON ``null`` and SQL NULL both mean "no data": omitted from the change like before.
    return [
        FeedRow(*row[:7], None if row[7] is None or row[7] == "null" else msgspec.Raw(row[7]))
        for row in result
    ]


def _after(session: AsyncSession, pos: tuple[int, int]) -> ColumnElement[bool]:
    """``(tx, id) > pos``. On SQLite ``tx`` is always 0, and the plain ``tx = 0 AND id > n``
    keeps the index range on ``(scope, tx, id)`` (a row-value comparison scans the scope)."""
    if is_postgres(session):
        return tuple_(ChangeLog.tx, ChangeLog.id) > tuple_(*pos)
    return and_(ChangeLog.tx == 0, ChangeLog.id > _sqlite_id(pos))


def _at_most(session: AsyncSession, pos: tuple[int, int]) -> ColumnElement[bool]:
    """``(tx, id) <= pos`` (see :func:`_after`)."""
    if is_postgres(session):
        return tuple_(ChangeLog.tx, ChangeLog.id) <= tuple_(*pos)
    return and_(ChangeLog.tx == 0, ChangeLog.id <= _sqlite_id(pos))


def _sqlite_id(pos: tuple[int, int]) -> int:
    """The id bound equivalent to ``pos`` among SQLite's rows, which all have ``tx`` 0."""
    tx, id_ = pos
    return id_ if tx == 0 else -1 if tx < 0 else MAX_ID


async def read_changes(
    session: AsyncSession,
    positions: dict[str, tuple[int, int]],
    watermark: Watermark,
    limit: int,
    *,
    raw: bool = False,
) -> list[FeedRow]:
    """Up to ``limit`` changes after each scope's position and within the watermark, in (tx, id) order.

    ``raw``: ``data`` as ``msgspec.Raw`` JSON text instead of a decoded document."""
    if not positions:
        return []
    by_position: dict[tuple[int, int], list[str]] = {}
    for scope, pos in positions.items():
        by_position.setdefault(pos, []).append(scope)
    clauses = [
        and_(ChangeLog.scope.in_(sorted(scopes)), _after(session, pos)) for pos, scopes in by_position.items()
    ]
    query = select(*_FEED_COLUMNS, _data(raw)).where(or_(*clauses), _at_most(session, watermark.high))
    rows = await session.execute(query.order_by(ChangeLog.tx, ChangeLog.id).limit(limit))
    return _rows(rows, raw)


async def read_snapshot(
    session: AsyncSession, scope: str, after: tuple[str, str], limit: int, *, raw: bool = False
) -> list[FeedRow]:
    """A page of what ``scope`` holds now, in (entity, id) order after ``after`` (``raw``: as above)."""
    query = (
        select(
            ChangeLog.tx,
            ChangeLog.id,
            ScopeRow.scope,
            ScopeRow.entity,
            ScopeRow.entity_id,
            ChangeLog.op,
            ScopeRow.version,
            _data(raw),
        )
        .join(ChangeLog, ChangeLog.id == ScopeRow.change_id)
        .where(ScopeRow.scope == scope, tuple_(ScopeRow.entity, ScopeRow.entity_id) > tuple_(*after))
        .order_by(ScopeRow.entity, ScopeRow.entity_id)
        .limit(limit)
    )
    return _rows(await session.execute(query), raw)


async def newest_changes(session: AsyncSession, scopes: Iterable[str]) -> dict[str, tuple[int, int] | None]:
    """Each scope's newest ``(tx, id)`` this snapshot can see (None: no change): one index seek
    per scope, in one statement."""
    scopes = list(scopes)
    parts = []
    for scope in scopes:
        newest = (
            select(ChangeLog.tx, ChangeLog.id)
            .where(ChangeLog.scope == scope)
            .order_by(ChangeLog.tx.desc(), ChangeLog.id.desc())
            .limit(1)
            .subquery()
        )
        parts.append(select(literal(scope).label("scope"), newest.c.tx, newest.c.id))
    if not parts:
        return {}
    found = {scope: (int(tx), int(id_)) for scope, tx, id_ in await session.execute(union_all(*parts))}
    return {scope: found.get(scope) for scope in scopes}


def above_watermark(newest: dict[str, tuple[int, int] | None], watermark: Watermark) -> set[str]:
    """Of the scopes in ``newest``, those with a change this snapshot can see but may not read
    yet (on PostgreSQL, a transaction at or above the watermark; never on SQLite).

    Their ``scope_rows`` already include it, so a checksum would not match what was delivered."""
    limit = watermark.tx_limit
    if limit is None:
        return set()
    return {scope for scope, pos in newest.items() if pos is not None and pos[0] >= limit}


async def scope_checksums(
    session: AsyncSession,
    scopes: Sequence[str],
    *,
    newest: dict[str, tuple[int, int] | None] | None = None,
    horizon: tuple[int, int] | None = None,
) -> dict[str, tuple[int, int]]:
    """(count, sum of row digests) of each scope, in one grouped aggregate.

    With ``newest`` (:func:`newest_changes`) and ``horizon`` read in the same snapshot, a scope
    whose newest change and horizon are the ones an earlier pull already summed is answered
    from a per-engine memo instead: ``scope_rows`` only changes in the transaction that logs a
    change in the scope, and a change committed later always sorts after every change a reader
    below the watermark saw, so the same newest change (and horizon) means the same rows. Only
    for scopes with nothing waiting above the watermark (see :func:`above_watermark`)."""
    scopes = list(scopes)
    if not scopes:
        return {}
    sums: dict[str, tuple[int, int]] = {}
    keys: dict[str, tuple[Any, ...]] = {}
    memo = _memo(session) if newest is not None else None
    if memo is not None and newest is not None:
        for scope in scopes:
            keys[scope] = (scope, newest[scope], horizon)
            if (hit := memo.get(keys[scope])) is not None:
                memo.move_to_end(keys[scope])
                sums[scope] = hit
    missing = [s for s in scopes if s not in sums]
    if missing:
        query = (
            select(ScopeRow.scope, func.count(), func.coalesce(func.sum(ScopeRow.digest), 0))
            .where(ScopeRow.scope.in_(missing))
            .group_by(ScopeRow.scope)
        )
        found = {scope: (int(c), int(t)) for scope, c, t in await session.execute(query)}
        for scope in missing:
            sums[scope] = found.get(scope, (0, 0))
            if memo is not None and scope in keys:
                memo[keys[scope]] = sums[scope]
        while memo is not None and len(memo) > CHECKSUM_MEMO_SIZE:
            memo.popitem(last=False)
    return {scope: sums[scope] for scope in scopes}


CHECKSUM_MEMO_SIZE = 10_000
_MEMOS: weakref.WeakKeyDictionary[Any, OrderedDict[tuple[Any, ...], tuple[int, int]]] = (
    weakref.WeakKeyDictionary()
)


def _memo(session: AsyncSession) -> OrderedDict[tuple[Any, ...], tuple[int, int]]:
    """The checksum memo of the session's database (keyed by the engine's connection pool)."""
    pool = session.get_bind().pool
    memo = _MEMOS.get(pool)
    if memo is None:
        memo = _MEMOS[pool] = OrderedDict()
    return memo


async def feed_horizon(session: AsyncSession) -> tuple[int, int] | None:
    """Positions at or before this may have lost changes to compaction."""
    row = (await session.execute(select(FeedHorizon.tx, FeedHorizon.change_id).limit(1))).first()
    return (int(row[0]), int(row[1])) if row else None
