"""The shapes of the workbench figures (also the API's response bodies)."""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from backend.requests.service import RequestFigures
from backend.sellthrough.service import SellThroughSummary
from backend.visits.figures import VisitFigures


class StateCount(msgspec.Struct):
    kind: str
    state: str
    count: int


class QuotaUseRow(msgspec.Struct):
    quota_id: str
    supplier_id: str
    distributor_id: str
    region_id: str
    product_id: str | None
    category_id: str | None
    target: str  # the SKU or category code the quota is for
    period_start: date
    period_end: date
    limit_qty: int
    used_qty: int
    left_qty: int
    used_pct: float


class LowStockRow(msgspec.Struct):
    product_id: str
    sku: str
    expected_qty: int
    counted_qty: int | None
    observed_at: datetime | None


class StockSummary(msgspec.Struct):
    skus: int
    units: int
    value_minor: int
    low_stock_count: int
    low_stock: list[LowStockRow]


class DiscrepancySummary(msgspec.Struct):
    stock_levels: int  # SKU/location pairs whose latest count was flagged
    open_claims: int  # acceptance claims not yet resolved


class TerminalScore(msgspec.Struct):
    terminal_id: str
    terminal_code: str
    inspections: int
    avg_score_pct: float | None
    last_submitted_at: datetime | None


class InspectionSummary(msgspec.Struct):
    submitted: int
    in_progress: int
    avg_score_pct: float | None
    terminals: list[TerminalScore]  # lowest average first


class DistributorFigures(msgspec.Struct):
    distributor_id: str
    as_of: date
    orders_by_state: list[StateCount]
    quotas: list[QuotaUseRow]
    stock: StockSummary
    discrepancies: DiscrepancySummary
    inspections: InspectionSummary
    visits: VisitFigures | None = None  # issue 17
    requests: RequestFigures | None = None  # issue 17: the distributor's requests to suppliers


class SellInRow(msgspec.Struct):
    key_id: str  # distributor id or region id
    name: str
    orders: int
    qty: int
    value_minor: int


class AcceptanceSummary(msgspec.Struct):
    acceptances: int
    with_discrepancy: int
    discrepancy_rate: float | None
    open_claims: int


class QuotaTotals(msgspec.Struct):
    quotas: int
    limit_qty: int
    used_qty: int
    used_pct: float | None


class SupplierFigures(msgspec.Struct):
    supplier_id: str
    period_start: date
    period_end: date
    sell_in_by_distributor: list[SellInRow]
    sell_in_by_region: list[SellInRow]
    acceptance: AcceptanceSummary
    quota_totals: QuotaTotals
    quotas: list[QuotaUseRow]
    visits: VisitFigures | None = None  # issue 17: over the distributors the supplier authorises
    sell_through: SellThroughSummary | None = None  # issue 17
    requests: RequestFigures | None = None  # issue 17: requests distributors filed to the supplier
