"""Support reports: volume, first-response and resolution times (median and p90), SLA breaches
and satisfaction, by agent, team or day, over a period; and the same as CSV.

Tickets count in the period they were opened; breaches when they happened; ratings when they
were given. A day is a calendar day of the team's time zone (the ticket's team, else the default
team, else UTC): a ticket opened at 00:30 in Shanghai counts on that day, not on the UTC day
before. Times are wall-clock seconds from opening (the SLA clocks count business hours;
these say how long a customer waited). Percentiles are nearest-rank, computed here so that
SQLite and PostgreSQL give the same figures.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.identity import User
from backend.messaging.desk_models import CsatRating, SlaBreach, SupportTeam
from backend.messaging.models import Conversation

GROUPS = ("agent", "team", "day")
COLUMNS = (
    "key",
    "name",
    "tickets",
    "resolved",
    "first_response_median_s",
    "first_response_p90_s",
    "resolution_median_s",
    "resolution_p90_s",
    "sla_breaches",
    "csat_count",
    "csat_average",
)


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (``p`` in 0..100) of ``values``; ``None`` for none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _key(group: str, *, agent: str | None, team: str | None, at: datetime, zones: dict[str, tzinfo]) -> str:
    if group == "agent":
        return agent or "-"
    if group == "team":
        return team or "-"
    return at.astimezone(zones.get(team or "", zones[""])).date().isoformat()


async def _zones(session: AsyncSession) -> dict[str, tzinfo]:
    """Each team's time zone by id, and under ``""`` the default team's (UTC without one)."""
    zones: dict[str, tzinfo] = {"": UTC}
    for team_id, zone, is_default in (
        await session.execute(select(SupportTeam.id, SupportTeam.timezone, SupportTeam.is_default))
    ).tuples():
        zones[team_id] = ZoneInfo(zone)
        if is_default:
            zones[""] = zones[team_id]
    return zones


async def report(session: AsyncSession, *, since: datetime, until: datetime, group: str) -> dict[str, Any]:
    c = Conversation
    zones = await _zones(session)
    tickets = (
        await session.execute(
            select(c.created_at, c.first_response_at, c.resolved_at, c.assignee_id, c.team_id).where(
                c.kind == "support", c.created_at >= since, c.created_at < until
            )
        )
    ).tuples()
    buckets: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"tickets": 0, "resolved": 0, "fr": [], "res": [], "breaches": 0, "ratings": []}
    )
    everything = buckets["*"]
    for created, first, resolved, agent, team in tickets:
        for b in (buckets[_key(group, agent=agent, team=team, at=created, zones=zones)], everything):
            b["tickets"] += 1
            if first is not None:
                b["fr"].append((first - created).total_seconds())
            if resolved is not None:
                b["resolved"] += 1
                b["res"].append((resolved - created).total_seconds())
    breaches = (
        await session.execute(
            select(SlaBreach.breached_at, SlaBreach.agent_id, SlaBreach.team_id).where(
                SlaBreach.breached_at >= since, SlaBreach.breached_at < until
            )
        )
    ).tuples()
    for at, agent, team in breaches:
        for b in (buckets[_key(group, agent=agent, team=team, at=at, zones=zones)], everything):
            b["breaches"] += 1
    ratings = (
        await session.execute(
            select(CsatRating.rated_at, CsatRating.agent_id, CsatRating.team_id, CsatRating.rating).where(
                CsatRating.rating.is_not(None), CsatRating.rated_at >= since, CsatRating.rated_at < until
            )
        )
    ).tuples()
    for at, agent, team, rating in ratings:
        for b in (buckets[_key(group, agent=agent, team=team, at=at, zones=zones)], everything):
            b["ratings"].append(rating)
    names: dict[str, str] = {}
    keys = [k for k in buckets if k not in ("*", "-")]
    if group == "agent" and keys:
        names = dict(
            list(
                (await session.execute(select(User.id, User.display_name).where(User.id.in_(keys)))).tuples()
            )
        )
    elif group == "team" and keys:
        names = dict(
            list(
                (
                    await session.execute(
                        select(SupportTeam.id, SupportTeam.name).where(SupportTeam.id.in_(keys))
                    )
                ).tuples()
            )
        )

    def row(key: str, b: dict[str, Any]) -> dict[str, Any]:
        avg = round(sum(b["ratings"]) / len(b["ratings"]), 2) if b["ratings"] else None
        return {
            "key": key,
            "name": names.get(key, key),
            "tickets": b["tickets"],
            "resolved": b["resolved"],
            "first_response_median_s": percentile(b["fr"], 50),
            "first_response_p90_s": percentile(b["fr"], 90),
            "resolution_median_s": percentile(b["res"], 50),
            "resolution_p90_s": percentile(b["res"], 90),
            "sla_breaches": b["breaches"],
            "csat_count": len(b["ratings"]),
            "csat_average": avg,
        }

    rows = [row(k, b) for k, b in buckets.items() if k != "*"]
    rows.sort(key=lambda r: r["key"] if group == "day" else (-r["tickets"], r["name"]))
    total = row("*", everything)
    zone = str(zones[""])
    return {"group": group, "since": since, "until": until, "timezone": zone, "rows": rows, "total": total}


def to_csv(data: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in data["rows"]:
        writer.writerow(r)
    writer.writerow({**data["total"], "key": "total", "name": "total"})
    return out.getvalue()
