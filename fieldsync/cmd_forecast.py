"""`fieldsync forecast backtest`: replay a generated 180-day history through the replenishment
forecast and print its accuracy against the naive baseline (issue 17)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    """Register ``forecast`` on the top-level subparsers."""
    forecast = sub.add_parser("forecast", help="replenishment forecast tools")
    actions = forecast.add_subparsers(dest="forecast_command", required=True, metavar="ACTION")
    backtest = actions.add_parser(
        "backtest",
        help="WAPE, bias and stock days of the suggestions against the naive baseline",
        description="Generate a 180-day history (trend, weekly pattern, promotions, intermittent SKUs), "
        "forecast every week from day 56 and print one JSON line: WAPE and bias of the model and of "
        "the naive forecast (last period's sales), and the stock-out and overstock days of a policy "
        "ordering what each suggests.",
    )
    backtest.add_argument("--seed", type=int, default=17, help="history seed (default 17)")
    backtest.add_argument(
        "--service-level", type=float, default=0.95, help="target service level (0.5-0.9999)"
    )
    backtest.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from backend.forecasting.backtest import run as backtest

    figures = backtest(seed=args.seed, service_level=args.service_level)
    print(json.dumps(figures))
    p, n = figures["policy"]["suggestions"], figures["policy"]["naive"]
    print(
        f"WAPE {figures['wape']:.3f} (naive {figures['naive_wape']:.3f}, "
        f"{figures['wape_vs_naive']:.0%} of it), bias {figures['bias']:+.3f} "
        f"(naive {figures['naive_bias']:+.3f}); stock-out days {p['stockout_days']} "
        f"(naive {n['stockout_days']}), overstock days {p['overstock_days']} (naive {n['overstock_days']}) "
        f"of {p['sku_days']} SKU-days",
        file=sys.stderr,
    )
    return 0
