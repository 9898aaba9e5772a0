"""The forecast and the order-up-to rule against numbers worked out by hand, and the backtest's verdict."""

from __future__ import annotations

import math

import pytest

from backend.forecasting.backtest import run
from backend.forecasting.model import forecast, suggest

# Sold on days 2, 5 and 7 of a week: 3, 2 and 4 units.
SPARSE = [0, 3, 0, 0, 2, 0, 4]
# Croston/SBA by hand (α = 0.1), starting from the mean size z = 9/3 = 3 and interval p = 7/3:
# 3 after 2 days: z = 3 + 0.1·(3 − 3) = 3, p = 7/3 + 0.1·(2 − 7/3) = 2.3;
# 2 after 3 days: z = 3 + 0.1·(2 − 3) = 2.9, p = 2.3 + 0.1·(3 − 2.3) = 2.37;
# 4 after 2 days: z = 2.9 + 0.1·(4 − 2.9) = 3.01, p = 2.37 + 0.1·(2 − 2.37) = 2.333.
HAND_RATE = (1 - 0.1 / 2) * 3.01 / 2.333
HAND_SIGMA = math.sqrt(sum((d - 9 / 7) ** 2 for d in SPARSE) / 7)


def test_sba_rate_and_the_suggestion_match_the_hand_calculation():
    f = forecast(SPARSE, start_weekday=0, horizon=3)
    assert f.method == "sba"
    assert f.daily == pytest.approx((HAND_RATE,) * 3)
    assert f.sigma == pytest.approx(HAND_SIGMA)
    s = suggest(
        SPARSE, start_weekday=0, on_hand=5, on_order=0, lead_time_days=3, review_days=7, pack_size=6,
        service_level=0.95,
    )  # fmt: skip
    # z(0.95)·σ·√(L+R + (L+R)²·α/(2−α)): the daily errors and the smoothed level's own spread
    safety = 1.6448536 * HAND_SIGMA * math.sqrt(10 + 100 * 0.1 / 1.9)
    assert s.safety_stock == pytest.approx(safety, rel=1e-6)
    missing = 10 * HAND_RATE + safety - 5  # 12.26 + 10.14 - 5 = 17.40 → 3 packs of 6
    assert s.qty == 6 * math.ceil(missing / 6) == 18


def test_bounds_pack_quota_and_authorisation():
    steady = [10] * 28
    free = suggest(steady, start_weekday=0, on_hand=0, on_order=0, lead_time_days=7, review_days=7,
                   pack_size=12, service_level=0.95)  # fmt: skip
    assert free.qty % 12 == 0 and 140 <= free.qty < 152 and free.bound == ""
    capped = suggest(steady, start_weekday=0, on_hand=0, on_order=0, lead_time_days=7, review_days=7,
                     pack_size=12, service_level=0.95, quota_left=100)  # fmt: skip
    assert (capped.qty, capped.bound, capped.unbounded_qty) == (96, "quota", free.qty)
    refused = suggest(steady, start_weekday=0, on_hand=0, on_order=0, lead_time_days=7, review_days=7,
                      pack_size=12, service_level=0.95, authorised=False)  # fmt: skip
    assert (refused.qty, refused.bound) == (0, "not_authorised")
    stocked = suggest(steady, start_weekday=0, on_hand=200, on_order=0, lead_time_days=7, review_days=7,
                      pack_size=12, service_level=0.95)  # fmt: skip
    assert stocked.qty == 0


def test_the_backtest_beats_the_naive_baseline():
    figures = run(seed=5)
    assert figures["wape"] < 0.92 * figures["naive_wape"]
    assert figures["by_kind"]["intermittent"]["wape"] < figures["by_kind"]["intermittent"]["naive_wape"]
    assert abs(figures["bias"]) < 0.1
    policy, naive = figures["policy"]["suggestions"], figures["policy"]["naive"]
    assert policy["overstock_days"] < naive["overstock_days"] and policy["fill_rate"] > 0.9
