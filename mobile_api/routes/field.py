"""Stock checks, inspections, routes and workbench routes (collected from ``field_*`` modules)."""

from __future__ import annotations

from typing import Any

from mobile_api.routes import field_inspections, field_stock, field_territory, field_workbench

ROUTES: list[Any] = [
    *field_stock.ROUTES,
    *field_inspections.ROUTES,
    *field_territory.ROUTES,
    *field_workbench.ROUTES,
]
