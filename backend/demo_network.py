"""The seeded demo network, handed to each domain's demo seeder (``backend/<domain>/demo.py``)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from backend.catalog import Product
from backend.identity import Organisation, Region, User

Progress = Callable[[str], None]


@dataclass(slots=True)
class DemoNetwork:
    rng: random.Random
    progress: Progress
    provinces: list[Region] = field(default_factory=list)
    platform: Organisation | None = None
    suppliers: list[Organisation] = field(default_factory=list)
    distributors: list[Organisation] = field(default_factory=list)
    terminals: list[Organisation] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)
    users: dict[str, User] = field(default_factory=dict)
