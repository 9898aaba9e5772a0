"""The demand forecast and the order-up-to rule behind replenishment suggestions (pure Python).

Retail demand per SKU and place is either **smooth** (sold most days) or **intermittent** (many
days without a sale). The classic split (Syntetos–Boylan) is the average interval between
demands: above 1.32 days a series is intermittent.

- Intermittent: **Croston with the Syntetos–Boylan approximation (SBA)** — exponential smoothing
  of the non-zero sizes ``z`` and of the intervals ``p`` between them, rate ``(1 - α/2)·z/p``.
- Smooth: day-of-week **seasonal indices** (multiplicative, from the whole history, shrunk toward
  1 when history is short), then **damped-trend Holt** smoothing of the deseasonalised series;
  the forecast of day ``h`` ahead is ``(level + Σφ^i·trend)·index(weekday)``.

σ is the root mean square of the one-day-ahead errors over the last four weeks (of the daily
demand itself for intermittent series). Safety stock for a service level ``s`` over lead time
``L`` and review period ``R`` is ``z(s)·σ·√((L+R) + (L+R)²·α/(2−α))`` (the daily errors, plus
the uncertainty of the smoothed level, which shifts every day alike); the order-up-to level is
the forecast over ``L+R`` days plus that; the suggestion is what is missing after stock on hand and on order,
rounded up to whole packs. statsforecast/statsmodels would add pandas/numpy/scipy (~150 MB) for
two recursions of a dozen lines each, so the model is written out here and checked by the
backtest (``backend.forecasting.backtest``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

INTERMITTENT_ADI = 1.32
SBA_ALPHA = 0.1
HOLT_ALPHA = 0.1
HOLT_BETA = 0.03
HOLT_PHI = 0.9
SEASON = 7
CLIP_RATIO = 1.0
CLIP_POISSON = 2.0
ERROR_WINDOW = 28


@dataclass(frozen=True, slots=True)
class Forecast:
    method: str  # "sba" | "holt_seasonal" | "none"
    daily: tuple[float, ...]  # the next days, one value per day
    sigma: float  # daily error

    def total(self, days: int) -> float:
        return sum(self.daily[:days])


def average_interval(demand: Sequence[float]) -> float:
    """Days per non-zero demand (∞ when nothing was ever sold)."""
    hits = sum(1 for d in demand if d > 0)
    return len(demand) / hits if hits else math.inf


def sba(demand: Sequence[float], alpha: float = SBA_ALPHA) -> tuple[float, list[float]]:
    """Croston/SBA daily rate after the series, and the in-sample one-day-ahead forecasts.

    Size ``z`` and interval ``p`` start at the series' mean non-zero size and mean interval (a
    series that starts on its first sale would otherwise begin with an interval of one day)."""
    sizes = [d for d in demand if d > 0]
    if not sizes:
        return 0.0, [0.0] * len(demand)
    z, p = sum(sizes) / len(sizes), len(demand) / len(sizes)
    since = 1
    fitted: list[float] = []
    for d in demand:
        fitted.append((1 - alpha / 2) * z / p)
        if d > 0:
            z += alpha * (d - z)
            p += alpha * (since - p)
            since = 1
        else:
            since += 1
    return (1 - alpha / 2) * z / p, fitted


def seasonal_indices(demand: Sequence[float], start_weekday: int) -> list[float]:
    """Multiplicative day-of-week indices (index 0 = Monday), shrunk toward 1 with few weeks."""
    totals, counts = [0.0] * SEASON, [0] * SEASON
    for i, d in enumerate(demand):
        wd = (start_weekday + i) % SEASON
        totals[wd] += d
        counts[wd] += 1
    mean = sum(demand) / len(demand) if demand else 0.0
    if mean <= 0:
        return [1.0] * SEASON
    weeks = len(demand) / SEASON
    shrink = weeks / (weeks + 2)  # two weeks of prior weight on "no weekly pattern"
    raw = [(totals[w] / counts[w]) / mean if counts[w] else 1.0 for w in range(SEASON)]
    return [1 + shrink * (r - 1) for r in raw]


def holt_seasonal(
    demand: Sequence[float], start_weekday: int, horizon: int
) -> tuple[list[float], list[float]]:
    """Damped-trend Holt on the deseasonalised series: (forecast of the next ``horizon`` days,
    in-sample one-day-ahead forecasts)."""
    idx = seasonal_indices(demand, start_weekday)
    level: float | None = None
    trend = 0.0
    fitted: list[float] = []
    for i, d in enumerate(demand):
        s = idx[(start_weekday + i) % SEASON] or 1.0
        x = d / s
        if level is None:
            level = x
            fitted.append(d)
            continue
        expected = max(0.0, level + HOLT_PHI * trend)
        fitted.append(expected * s)
        # A day far above the expectation (a promotion, a one-off bulk buy) moves the level only
        # as far as a plausible day would: it is not the new normal.
        x = min(x, expected * CLIP_RATIO + CLIP_POISSON * math.sqrt(expected) + 1)
        previous = level
        level = HOLT_ALPHA * x + (1 - HOLT_ALPHA) * (level + HOLT_PHI * trend)
        trend = HOLT_BETA * (level - previous) + (1 - HOLT_BETA) * HOLT_PHI * trend
    level = level or 0.0
    out = []
    damp = 0.0
    n = len(demand)
    for h in range(1, horizon + 1):
        damp += HOLT_PHI**h
        out.append(max(0.0, (level + damp * trend) * idx[(start_weekday + n + h - 1) % SEASON]))
    return out, fitted


def _rmse(actual: Sequence[float], fitted: Sequence[float]) -> float:
    pairs = list(zip(actual, fitted, strict=True))[-ERROR_WINDOW:]
    return math.sqrt(sum((a - f) ** 2 for a, f in pairs) / len(pairs)) if pairs else 0.0


def forecast(demand: Sequence[float], start_weekday: int, horizon: int) -> Forecast:
    """The next ``horizon`` days of demand after ``demand`` (its first day is ``start_weekday``)."""
    if not demand or not any(d > 0 for d in demand):
        return Forecast("none", (0.0,) * horizon, 0.0)
    if average_interval(demand) > INTERMITTENT_ADI:
        rate, _fitted = sba(demand)
        recent = list(demand[-ERROR_WINDOW:])
        mean = sum(recent) / len(recent)
        sigma = math.sqrt(sum((d - mean) ** 2 for d in recent) / len(recent))
        return Forecast("sba", (rate,) * horizon, sigma)
    future, fitted = holt_seasonal(demand, start_weekday, horizon)
    return Forecast("holt_seasonal", tuple(future), _rmse(demand, fitted))


def horizon_sigma(f: Forecast, days: float) -> float:
    """The spread of demand over ``days`` around the forecast: the daily errors add up (``σ²·days``),
    and the smoothed level itself is uncertain, which shifts every day alike (its variance is
    ``σ²·α/(2−α)`` for exponential smoothing, so ``(days·σ)²·α/(2−α)`` over the horizon)."""
    alpha = SBA_ALPHA if f.method == "sba" else HOLT_ALPHA
    return f.sigma * math.sqrt(days + days**2 * alpha / (2 - alpha))


def z_score(service_level: float) -> float:
    return NormalDist().inv_cdf(min(max(service_level, 0.5), 0.9999))


@dataclass(frozen=True, slots=True)
class Suggestion:
    qty: int  # whole packs, after bounds
    unbounded_qty: int  # whole packs, before the quota bound
    order_up_to: float
    safety_stock: float
    forecast: Forecast
    bound: str  # "" | "quota" | "not_authorised"


def suggest(
    demand: Sequence[float],
    *,
    start_weekday: int,
    on_hand: int,
    on_order: int,
    lead_time_days: float,
    review_days: int,
    pack_size: int,
    service_level: float,
    quota_left: int | None = None,
    authorised: bool = True,
) -> Suggestion:
    """How much to order now so stock lasts until the next order arrives, at the service level."""
    cover = max(1, math.ceil(lead_time_days + review_days))
    f = forecast(demand, start_weekday, cover)
    safety = z_score(service_level) * horizon_sigma(f, lead_time_days + review_days)
    target = f.total(cover) + safety
    missing = target - max(on_hand, 0) - max(on_order, 0)
    pack = max(pack_size, 1)
    packs = math.ceil(missing / pack - 1e-9) if missing > 0 else 0
    unbounded = packs * pack
    qty, bound = unbounded, ""
    if not authorised:
        qty, bound = 0, "not_authorised"
    elif quota_left is not None and qty > quota_left:
        qty, bound = max(quota_left, 0) // pack * pack, "quota"
    return Suggestion(qty, unbounded, target, safety, f, bound)
