"""Backtest of the replenishment forecast on a generated 180-day history.

The history (deterministic for a seed) has smooth SKUs with a trend and a weekly pattern
(weekends sell more), promotion weeks that double sales, and intermittent SKUs (a sale on a
few days a week, of a few units). Every week from day 56 on, the model forecasts the next
review period from what came before; the naive baseline says "the same as last period". WAPE
(Σ|forecast − actual| / Σ actual) and bias (Σ(forecast − actual) / Σ actual) are over all SKUs
and weeks. Then a day-by-day stock simulation orders what the suggestion says (or what the naive
forecast says, with the same safety stock rule), with each SKU's lead time and pack size, and
counts the days with unmet demand (stock-out days) and the days ending with more than twice the
stock a review period and lead time need (overstock days).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from backend.forecasting.model import suggest, z_score

DAYS = 180
WARM_UP = 56
REVIEW = 7


@dataclass(frozen=True, slots=True)
class Series:
    sku: str
    kind: str  # "smooth" | "intermittent"
    demand: list[int]
    lead_time: int
    pack: int


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def generate(seed: int = 17, smooth: int = 40, intermittent: int = 20, days: int = DAYS) -> list[Series]:
    """A demo network's SKU histories (day 0 is a Monday)."""
    rng = random.Random(seed)
    out: list[Series] = []
    weekly = [0.85, 0.8, 0.9, 0.95, 1.1, 1.3, 1.1]  # Monday … Sunday
    for n in range(smooth):
        base = rng.uniform(3, 40)
        trend = rng.uniform(-0.3, 0.6) / 100 * base  # per day
        promos = set()
        for _ in range(rng.randrange(1, 4)):
            start = rng.randrange(14, days - 7)
            promos |= set(range(start, start + 7))
        demand = []
        for d in range(days):
            mean = max(0.2, base + trend * d) * weekly[d % 7] * (2.0 if d in promos else 1.0)
            demand.append(_poisson(rng, mean))
        out.append(Series(f"S{n:03d}", "smooth", demand, rng.choice([2, 3, 5, 7]), rng.choice([1, 6, 12])))
    for n in range(intermittent):
        p_sale = rng.uniform(0.08, 0.45)
        size = rng.uniform(1, 6)
        demand = [1 + _poisson(rng, size - 1) if rng.random() < p_sale else 0 for _ in range(days)]
        out.append(Series(f"I{n:03d}", "intermittent", demand, rng.choice([3, 5, 7]), rng.choice([1, 6])))
    return out


def _wape(errors: list[tuple[float, float]]) -> tuple[float, float]:
    actual = sum(a for _f, a in errors)
    return sum(abs(f - a) for f, a in errors) / actual, sum(f - a for f, a in errors) / actual


@dataclass(slots=True)
class PolicyResult:
    stockout_days: int = 0
    overstock_days: int = 0
    sku_days: int = 0
    fill_rate: float = 0.0


def _simulate(series: Series, service_level: float, naive: bool) -> tuple[int, int, int, int, int]:
    """(stock-out days, overstock days, days, demand, demand met) following one policy."""
    demand = series.demand
    cover = series.lead_time + REVIEW
    mean_demand = sum(demand[WARM_UP:]) / max(1, len(demand) - WARM_UP)
    on_hand = round(sum(demand[WARM_UP - 14 : WARM_UP]) / 14 * cover)
    arriving: dict[int, int] = {}
    out = over = met = total = 0
    for day in range(WARM_UP, len(demand)):
        on_hand += arriving.pop(day, 0)
        if (day - WARM_UP) % REVIEW == 0:
            on_order = sum(arriving.values())
            history = demand[:day]
            if naive:
                recent = history[-28:]
                mean = sum(recent) / len(recent)
                sigma = math.sqrt(sum((x - mean) ** 2 for x in recent) / len(recent))
                target = sum(history[-REVIEW:]) / REVIEW * cover + z_score(service_level) * sigma * math.sqrt(
                    cover
                )
                missing = target - on_hand - on_order
                qty = math.ceil(missing / series.pack) * series.pack if missing > 0 else 0
            else:
                qty = suggest(
                    history, start_weekday=0, on_hand=on_hand, on_order=on_order,
                    lead_time_days=series.lead_time, review_days=REVIEW, pack_size=series.pack,
                    service_level=service_level,
                ).qty  # fmt: skip
            if qty:
                arriving[day + series.lead_time] = arriving.get(day + series.lead_time, 0) + qty
        sold = min(on_hand, demand[day])
        total += demand[day]
        met += sold
        if demand[day] > on_hand:
            out += 1
        on_hand -= sold
        if on_hand > 2 * cover * mean_demand + series.pack:
            over += 1
    return out, over, len(demand) - WARM_UP, total, met


def run(seed: int = 17, service_level: float = 0.95) -> dict:
    """Forecast accuracy of the model against the naive baseline, and both policies' stock days."""
    series = generate(seed)
    model_err: list[tuple[float, float]] = []
    naive_err: list[tuple[float, float]] = []
    by_kind: dict[str, list[list[tuple[float, float]]]] = {}
    for s in series:
        kind = by_kind.setdefault(s.kind, [[], []])
        for day in range(WARM_UP, DAYS - REVIEW + 1, REVIEW):
            history = s.demand[:day]
            actual = float(sum(s.demand[day : day + REVIEW]))
            f = suggest(
                history, start_weekday=0, on_hand=0, on_order=0, lead_time_days=0, review_days=REVIEW,
                pack_size=1, service_level=0.5,
            ).forecast.total(REVIEW)  # fmt: skip
            naive = float(sum(history[-REVIEW:]))
            model_err.append((f, actual))
            naive_err.append((naive, actual))
            kind[0].append((f, actual))
            kind[1].append((naive, actual))
    policies = {}
    for name, naive in (("suggestions", False), ("naive", True)):
        totals = [_simulate(s, service_level, naive) for s in series]
        out, over, days, demand, met = (sum(t[i] for t in totals) for i in range(5))
        policies[name] = {
            "stockout_days": out, "overstock_days": over, "sku_days": days,
            "fill_rate": round(met / demand, 4),
        }  # fmt: skip
    wape, bias = _wape(model_err)
    naive_wape, naive_bias = _wape(naive_err)
    return {
        "bench": "forecast_backtest",
        "seed": seed,
        "skus": len(series),
        "days": DAYS,
        "review_days": REVIEW,
        "service_level": service_level,
        "wape": round(wape, 4),
        "bias": round(bias, 4),
        "naive_wape": round(naive_wape, 4),
        "naive_bias": round(naive_bias, 4),
        "wape_vs_naive": round(wape / naive_wape, 3),
        "by_kind": {
            k: {"wape": round(_wape(m)[0], 4), "naive_wape": round(_wape(n)[0], 4)}
            for k, (m, n) in by_kind.items()
        },
        "policy": policies,
    }
