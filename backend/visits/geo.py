"""Distances on the Earth and the speed test for impossible travel."""

from __future__ import annotations

import math
from datetime import datetime

EARTH_RADIUS_M = 6_371_008.8
# Faster than this between two shops more than MIN_JUMP_M apart is not a drive: flag it.
MAX_SPEED_KMH = 150.0
MIN_JUMP_M = 1_000.0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def human_distance(metres: float) -> str:
    return f"{metres / 1000:.1f} km" if metres >= 1000 else f"{round(metres)} m"


def impossible(metres: float, a: datetime, b: datetime) -> float | None:
    """The speed in km/h if going ``metres`` between instants ``a`` and ``b`` is implausible."""
    if metres < MIN_JUMP_M:
        return None
    hours = max(abs((b - a).total_seconds()), 1.0) / 3600
    speed = metres / 1000 / hours
    return speed if speed > MAX_SPEED_KMH else None
