"""Visit frequency rules: on which local dates a terminal is due, and the visiting window.

A rule is ``weekly`` (on some weekdays, every ``interval_weeks`` weeks counted from the week of
``anchor_date``: "every second Tuesday" is ``weekdays=[1], interval_weeks=2``) or ``monthly``
(on ``month_day`` of each month, clamped to the month's last day, so 31 means "the last day";
``month_day=-1`` says so explicitly). Dates are the terminal's local calendar dates; the window
(minutes after local midnight) becomes UTC instants through the terminal's time zone, so a
daylight-saving change or a zone far from UTC lands the visit on the right hours.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

FREQUENCIES = ("weekly", "monthly")


@dataclass(frozen=True, slots=True)
class Frequency:
    freq: str
    weekdays: tuple[int, ...] = ()
    interval_weeks: int = 1
    anchor_date: date | None = None
    month_day: int | None = None


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def is_due(rule: Frequency, day: date) -> bool:
    """Whether ``rule`` asks for a visit on local date ``day``."""
    if rule.freq == "weekly":
        if day.weekday() not in rule.weekdays:
            return False
        if rule.interval_weeks <= 1:
            return True
        anchor = _week_start(rule.anchor_date or day)
        weeks = (_week_start(day) - anchor).days // 7
        return weeks % rule.interval_weeks == 0
    if rule.freq == "monthly" and rule.month_day is not None:
        last = calendar.monthrange(day.year, day.month)[1]
        wanted = last if rule.month_day == -1 else min(rule.month_day, last)
        return day.day == wanted
    return False


def due_dates(rule: Frequency, start: date, days: int) -> Iterator[date]:
    """The due local dates in ``[start, start + days)``."""
    for offset in range(days):
        day = start + timedelta(days=offset)
        if is_due(rule, day):
            yield day


def local_today(now: datetime, tz_name: str) -> date:
    return now.astimezone(ZoneInfo(tz_name)).date()


def window(day: date, start_min: int, end_min: int, tz_name: str) -> tuple[datetime, datetime]:
    """The visiting window of local ``day`` as UTC instants (``end_min`` may be 1440)."""
    tz = ZoneInfo(tz_name)

    def instant(minutes: int) -> datetime:
        base = datetime.combine(day + timedelta(days=minutes // 1440), time(0), tzinfo=tz)
        wall = base.replace(hour=(minutes % 1440) // 60, minute=minutes % 60)
        return wall.astimezone(UTC)

    return instant(start_min), instant(end_min)


def parse_hhmm(text: str) -> int:
    """``"08:30"`` → 510 minutes; ``"24:00"`` → 1440."""
    hours, minutes = text.split(":")
    value = int(hours) * 60 + int(minutes)
    if not 0 <= value <= 1440 or not 0 <= int(minutes) < 60:
        raise ValueError(text)
    return value


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def describe(rule: Frequency, names: Sequence[str] = calendar.day_name) -> str:
    """A short human description ("every 2nd week on Tuesday", "monthly on day 31")."""
    if rule.freq == "weekly":
        days = ", ".join(names[d] for d in sorted(rule.weekdays))
        every = "every week" if rule.interval_weeks <= 1 else f"every {rule.interval_weeks} weeks"
        return f"{every} on {days}"
    day = "the last day" if rule.month_day == -1 else f"day {rule.month_day}"
    return f"monthly on {day}"
