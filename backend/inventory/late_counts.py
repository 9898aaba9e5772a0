"""What a set's late counts read, asked for all of them at once (PostgreSQL).

A count observed before its level's latest is *late*: its expected quantity is the count just
before it plus the movements between, and the level keeps its later count. One by one that is
two statements per late count (``batch._count_before`` and ``service._movement_sums``). A set
knows before it starts which of its counts are late against the levels it read (a level only
moves forward), so those are read here in two statements: for each, the stored count at or
before it; for each (location, product), its movements since the earliest of those. The set's
own earlier counts are not stored yet and are merged in memory, as one by one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

Pair = tuple[str, str]  # (location_id, product_id)


@dataclass(frozen=True, slots=True)
class Stored:
    """A stored count: what ``_count_before`` reads of it."""

    observed_at: datetime
    check_id: str
    counted_qty: int


@dataclass
class LateHistory:
    """The stored counts just before each late count, and the movements its sums need."""

    before: dict[tuple[Pair, datetime], Stored | None]
    movements: dict[Pair, list[tuple[datetime, int]]]

    def covers(self, pair: Pair, observed_at: datetime) -> bool:
        return (pair, observed_at) in self.before

    def sums(self, pair: Pair, after: datetime | None, at: datetime) -> tuple[int, int]:
        """:func:`movement_sums` of the pair's movements read. ``after`` is never before the
        stored count read for the pair (the movements read start there)."""
        return movement_sums(self.movements.get(pair, ()), after, at)


def movement_sums(
    moves: Iterable[tuple[datetime, int]], after: datetime | None, at: datetime
) -> tuple[int, int]:
    """Of ``(occurred_at, qty_delta)`` movements: the sum in ``(after, at]`` (everything up to
    ``at`` when ``after`` is None) and the sum after ``at``, as ``_movement_sums`` asks for them."""
    since = later = 0
    for occurred, qty in moves:
        if occurred > at:
            later += qty
        elif after is None or occurred > after:
            since += qty
    return since, later


# Each late count's stored predecessor: one probe of (location, product, observed_at) each.
_BEFORE = text(
    "SELECT w.n, c.observed_at, c.id, c.counted_qty "
    "FROM unnest(CAST(:locations AS varchar[]), CAST(:products AS varchar[]), "
    "CAST(:ats AS timestamptz[])) WITH ORDINALITY AS w(location_id, product_id, at, n) "
    "LEFT JOIN LATERAL (SELECT s.observed_at, s.id, s.counted_qty FROM stock_checks s "
    "WHERE s.location_id = w.location_id AND s.product_id = w.product_id AND s.observed_at <= w.at "
    "ORDER BY s.observed_at DESC, s.id DESC LIMIT 1) c ON true"
)
# The movements of each pair since a moment (all of them for a null one).
_MOVEMENTS = text(
    "SELECT w.location_id, w.product_id, m.occurred_at, m.qty_delta "
    "FROM unnest(CAST(:locations AS varchar[]), CAST(:products AS varchar[]), "
    "CAST(:since AS timestamptz[])) AS w(location_id, product_id, since) "
    "JOIN stock_movements m ON m.location_id = w.location_id AND m.product_id = w.product_id "
    "AND (w.since IS NULL OR m.occurred_at > w.since)"
)


async def read_late_history(session: AsyncSession, late: list[tuple[Pair, datetime]]) -> LateHistory:
    """The history of the late counts ``late`` ((location, product), observed_at): two statements."""
    wanted = sorted(set(late))
    history = LateHistory({}, {})
    if not wanted:
        return history
    found = await session.execute(
        _BEFORE,
        {
            "locations": [pair[0] for pair, _at in wanted],
            "products": [pair[1] for pair, _at in wanted],
            "ats": [at for _pair, at in wanted],
        },
    )
    for n, observed_at, check_id, qty in found:
        stored = Stored(observed_at, check_id, qty) if check_id is not None else None
        history.before[wanted[n - 1]] = stored
    # Per pair, from the earliest stored predecessor on; all of them when a late count has none.
    predecessors: dict[Pair, list[datetime | None]] = {}
    for (pair, _at), stored in history.before.items():
        predecessors.setdefault(pair, []).append(stored.observed_at if stored is not None else None)
    since = {
        pair: None if None in ats else min(a for a in ats if a is not None)
        for pair, ats in predecessors.items()
    }
    pairs = sorted(since)
    moved = await session.execute(
        _MOVEMENTS,
        {
            "locations": [p[0] for p in pairs],
            "products": [p[1] for p in pairs],
            "since": [since[p] for p in pairs],
        },
    )
    for location_id, product_id, occurred_at, qty in moved:
        history.movements.setdefault((location_id, product_id), []).append((occurred_at, qty))
    return history
