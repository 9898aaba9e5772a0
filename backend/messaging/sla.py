"""Service levels counted in business hours: a team's calendar, the due times of its targets,
the time left, and the support clock.

A calendar is a time zone, opening hours per weekday and holidays (see
:class:`backend.messaging.desk_models.SupportTeam`). Business seconds pass only inside opening
hours; an empty week means around the clock. Targets: *first response* (from opening), *next
response* (from a customer message that follows an agent's answer; stopped by the next answer
or a resolve) and *resolution* (from opening; stopped by a resolve).

:func:`now` is the clock every SLA decision reads; ``FIELDSYNC_SUPPORT_CLOCK_AT`` freezes it
(tests and demos), otherwise it is the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from backend.db import utcnow

_frozen: datetime | None = None
#: Days looked ahead for opening hours before giving up (a calendar with none in a year).
MAX_DAYS = 400


def now() -> datetime:
    return _frozen or utcnow()


def freeze(at: datetime | None) -> None:
    """Stop the support clock at ``at`` (``None`` lets it run)."""
    global _frozen
    _frozen = at.astimezone(UTC) if at is not None else None


@dataclass(frozen=True, slots=True)
class Calendar:
    timezone: str = "UTC"
    hours: dict[str, list[list[int]]] = field(default_factory=dict)
    holidays: frozenset[str] = frozenset()

    @classmethod
    def of(cls, team: Any | None) -> Calendar:
        if team is None:
            return ALWAYS
        return cls(team.timezone or "UTC", dict(team.hours or {}), frozenset(team.holidays or ()))

    @property
    def always_open(self) -> bool:
        return not any(self.hours.values())

    def _zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    def _intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The opening intervals of a local day, in UTC."""
        if day.isoformat() in self.holidays:
            return []
        zone = self._zone()
        out = []
        for start_min, end_min in sorted(self.hours.get(str(day.weekday()), [])):
            start = datetime.combine(day, time(0), tzinfo=zone) + timedelta(minutes=start_min)
            end = datetime.combine(day, time(0), tzinfo=zone) + timedelta(minutes=end_min)
            if end > start:
                out.append((start.astimezone(UTC), end.astimezone(UTC)))
        return out

    def is_open(self, at: datetime) -> bool:
        if self.always_open:
            return True
        local = at.astimezone(self._zone()).date()
        return any(s <= at < e for s, e in self._intervals(local))

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment ``seconds`` business seconds after ``start``."""
        if self.always_open:
            return start + timedelta(seconds=seconds)
        left = timedelta(seconds=seconds)
        day = start.astimezone(self._zone()).date() - timedelta(days=1)
        for _ in range(MAX_DAYS):
            for s, e in self._intervals(day):
                s = max(s, start)
                if e <= s:
                    continue
                if e - s >= left:
                    return s + left
                left -= e - s
            day += timedelta(days=1)
        return start + timedelta(seconds=seconds)  # no opening hours at all: count plain time

    def between(self, a: datetime, b: datetime) -> float:
        """Business seconds from ``a`` to ``b`` (negative when ``b`` is earlier)."""
        if b < a:
            return -self.between(b, a)
        if self.always_open:
            return (b - a).total_seconds()
        total = 0.0
        day = a.astimezone(self._zone()).date() - timedelta(days=1)
        last = b.astimezone(self._zone()).date() + timedelta(days=1)
        while day <= last:
            for s, e in self._intervals(day):
                s, e = max(s, a), min(e, b)
                if e > s:
                    total += (e - s).total_seconds()
            day += timedelta(days=1)
        return total


ALWAYS = Calendar()


@dataclass(frozen=True, slots=True)
class Targets:
    first_response_s: int
    next_response_s: int
    resolution_s: int

    @classmethod
    def of(cls, team: Any | None, default_first_response_s: int) -> Targets:
        if team is None:
            return cls(default_first_response_s, default_first_response_s, 24 * 3600)
        return cls(team.first_response_s, team.next_response_s, team.resolution_s)


@dataclass(frozen=True, slots=True)
class Clock:
    """One target of one ticket as the console shows it."""

    target: str
    due_at: datetime
    left_s: int  # business seconds; negative: breached by that much
    running: bool  # inside business hours (the countdown moves)

    @property
    def breached(self) -> bool:
        return self.left_s < 0


def clocks(conv: Any, team: Any | None, at: datetime | None = None) -> list[Clock]:
    """The targets still running on ``conv`` (met or stopped ones are gone)."""
    at = at or now()
    cal = Calendar.of(team)
    running = cal.is_open(at)
    out = []
    if conv.status == "resolved":
        return out
    pairs = [
        ("first_response", conv.first_response_due_at if conv.first_response_at is None else None),
        ("next_response", conv.next_response_due_at),
        ("resolution", conv.resolution_due_at),
    ]
    for target, due in pairs:
        if due is not None:
            out.append(Clock(target, due, int(cal.between(at, due)), running))
    return out
