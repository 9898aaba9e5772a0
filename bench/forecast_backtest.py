"""Replenishment forecast backtest (issue 17): one JSON line with WAPE, bias and stock days of the
suggestions against the naive baseline, over several history seeds, with CPU time and load.

    .venv/bin/python bench/forecast_backtest.py [--seeds 17,1,2,3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from backend.forecasting.backtest import run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", default="17,1,2,3")
    parser.add_argument("--service-level", type=float, default=0.95)
    args = parser.parse_args()
    cpu, wall = time.process_time(), time.perf_counter()
    runs = [run(seed=int(s), service_level=args.service_level) for s in args.seeds.split(",")]
    figures = {
        "bench": "forecast_backtest",
        "load_1m": os.getloadavg()[0],
        "cpu_s": round(time.process_time() - cpu, 3),
        "wall_s": round(time.perf_counter() - wall, 3),
        "runs": runs,
        "wape_vs_naive_max": max(r["wape_vs_naive"] for r in runs),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
