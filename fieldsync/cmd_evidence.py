"""`fieldsync evidence ...`: verify the evidence log offline (issue 5)."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    """Register this command on the top-level subparsers (filled in by its issue)."""
    del sub


def run(args: argparse.Namespace) -> int:
    raise SystemExit("not available yet")
