"""Execution figures of visits: planned vs completed, on time, time in shop, flagged check-ins.

One query reads the period's visits of the distributors asked for; the figures are folded from
those rows (a distributor's 28 days are a few thousand rows at most).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.identity import Organisation, User
from backend.visits.models import Visit

PERIOD_DAYS = 28
LIST_LIMIT = 20


class VisitTotals(msgspec.Struct):
    key_id: str  # the rep, terminal or distributor ("" for the whole)
    name: str
    planned: int
    completed: int
    completion_pct: float | None
    on_time_pct: float | None
    median_minutes_in_shop: float | None
    flagged: int
    unplanned: int


class VisitFigures(msgspec.Struct):
    period_start: date
    period_end: date
    totals: VisitTotals
    by_rep: list[VisitTotals] = []
    by_terminal: list[VisitTotals] = []
    by_distributor: list[VisitTotals] = []


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def fold(key_id: str, name: str, visits: Iterable[Visit]) -> VisitTotals:
    rows = list(visits)
    planned = [v for v in rows if not v.unplanned]
    done = [v for v in rows if v.status == "completed"]
    timed = [v for v in done if v.on_time is not None]
    minutes = [
        (v.checkout_at - v.checkin_at).total_seconds() / 60 for v in done if v.checkout_at and v.checkin_at
    ]
    return VisitTotals(
        key_id=key_id,
        name=name,
        planned=len(planned),
        completed=len([v for v in planned if v.status == "completed"]),
        completion_pct=_pct(len([v for v in planned if v.status == "completed"]), len(planned)),
        on_time_pct=_pct(len([v for v in timed if v.on_time]), len(timed)),
        median_minutes_in_shop=round(statistics.median(minutes), 1) if minutes else None,
        flagged=len([v for v in rows if v.flag_far or v.flag_travel]),
        unplanned=len(rows) - len(planned),
    )


def _grouped(rows: Sequence[Visit], key: str, names: dict[str, str]) -> list[VisitTotals]:
    groups: dict[str, list[Visit]] = {}
    for v in rows:
        groups.setdefault(getattr(v, key), []).append(v)
    folded = [fold(k, names.get(k, k), vs) for k, vs in groups.items()]
    folded.sort(key=lambda t: (t.completion_pct if t.completion_pct is not None else 101, t.name))
    return folded[:LIST_LIMIT]


async def visit_figures(
    session: AsyncSession, distributor_ids: Sequence[str], *, today: date, detail: bool
) -> VisitFigures:
    """Figures of the last ``PERIOD_DAYS`` days up to ``today``: per rep and terminal when
    ``detail`` (a distributor's own), else per distributor (a supplier's aggregate)."""
    start = today - timedelta(days=PERIOD_DAYS - 1)
    rows = (
        (
            await session.execute(
                select(Visit).where(
                    Visit.distributor_id.in_(sorted(distributor_ids)),
                    Visit.planned_date >= start,
                    Visit.planned_date <= today,
                )
            )
        )
        .scalars()
        .all()
    )
    figures = VisitFigures(start, today, fold("", "all", rows))
    ids = {v.user_id for v in rows} | {v.terminal_id for v in rows} | {v.distributor_id for v in rows}
    names = {
        **dict((await session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))).all()),
        **dict(
            (
                await session.execute(
                    select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))
                )
            ).all()
        ),
    }
    if detail:
        figures.by_rep = _grouped(rows, "user_id", names)
        figures.by_terminal = _grouped(rows, "terminal_id", names)
    else:
        figures.by_distributor = _grouped(rows, "distributor_id", names)
    return figures
