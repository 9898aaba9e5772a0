"""Hybrid logical clock stamps as phones send them: ``<wall_ms>:<counter>:<node>``.

``wall_ms`` is the physical clock in milliseconds since the epoch, ``counter`` the logical
counter within that millisecond and ``node`` the phone's stable id (its sync client id). Stamps
compare by (wall_ms, counter, node) — a total order, so every replica picks the same winner.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from backend.errors import InvalidInput

HLC_RE = re.compile(r"^(\d{1,15}):(\d{1,10}):([A-Za-z0-9_.\-]{1,64})$")
MAX_HLC_LEN = 96


class InvalidHlc(InvalidInput):
    code = "invalid_hlc"


class Hlc(NamedTuple):
    wall_ms: int
    counter: int
    node: str


def parse_hlc(stamp: str) -> Hlc:
    match = HLC_RE.fullmatch(stamp) if isinstance(stamp, str) else None
    if match is None:
        raise InvalidHlc("hlc must look like '<wall_ms>:<counter>:<node>', e.g. '1764097200000:0:phone-1'")
    return Hlc(int(match.group(1)), int(match.group(2)), match.group(3))


def format_hlc(wall_ms: int, counter: int, node: str) -> str:
    return f"{wall_ms}:{counter}:{node}"
