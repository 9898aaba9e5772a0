"""Data back to suppliers over REST (JSON and CSV), and requests between distributors and suppliers."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Response, get, post
from litestar.params import Parameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import sellthrough
from backend.identity import Actor
from backend.requests import RequestEvent, SupplierRequest, act, events_of, file_request, get_request
from backend.requests import service as requests
from mobile_api.paging import paginate
from mobile_api.params import PathId
from mobile_api.routes.field_common import Cursor, Limit, QueryId
from mobile_api.schemas import Out, Page, Strict
from sync.mutations.requests import Action, Kind, Photos, Title
from sync.mutations.types import ClientId, Id, Text

Group = Annotated[str, Parameter(pattern="^(sku|category|region|week)$", max_length=8, default="sku")]
Weeks = Annotated[int, Parameter(ge=1, le=sellthrough.service.MAX_WEEKS, default=8)]


def _csv(rows: Sequence[msgspec.Struct], name: str) -> Response[bytes]:
    out = io.StringIO()
    fields = rows[0].__struct_fields__ if rows else ()
    writer = csv.writer(out)
    writer.writerow(fields)
    for row in rows:
        writer.writerow(getattr(row, f) for f in fields)
    return Response(
        out.getvalue().encode(), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )  # fmt: skip


@get(
    "/supplier-data/sell-through",
    tags=["supplier data"],
    summary="Units sold to shops by SKU, category, region or week",
)
async def sell_through(
    actor: Actor, db_session: AsyncSession, supplier_id: QueryId, group: Group, weeks: Weeks
) -> list[sellthrough.SellThroughRow]:
    return await sellthrough.sell_through(
        db_session, actor, supplier_id=supplier_id, group=group, weeks=weeks
    )


@get("/supplier-data/sell-through.csv", tags=["supplier data"], summary="Sell-through as CSV")
async def sell_through_csv(
    actor: Actor, db_session: AsyncSession, supplier_id: QueryId, group: Group, weeks: Weeks
) -> Response[bytes]:
    rows = await sellthrough.sell_through(
        db_session, actor, supplier_id=supplier_id, group=group, weeks=weeks
    )
    return _csv(rows, f"sell-through-by-{group}")


@get(
    "/supplier-data/stock",
    tags=["supplier data"],
    summary="Stock on hand at distributors and shelves, by SKU",
)
async def stock(actor: Actor, db_session: AsyncSession, supplier_id: QueryId) -> list[sellthrough.StockRow]:
    return await sellthrough.stock_on_hand(db_session, actor, supplier_id=supplier_id)


@get("/supplier-data/stock.csv", tags=["supplier data"], summary="Stock on hand as CSV")
async def stock_csv(actor: Actor, db_session: AsyncSession, supplier_id: QueryId) -> Response[bytes]:
    return _csv(await sellthrough.stock_on_hand(db_session, actor, supplier_id=supplier_id), "stock")


@get(
    "/supplier-data/hot-skus",
    tags=["supplier data"],
    summary="Best sellers of the last four weeks per region",
)
async def hot(actor: Actor, db_session: AsyncSession, supplier_id: QueryId) -> list[sellthrough.HotSku]:
    return await sellthrough.hot_skus(db_session, actor, supplier_id=supplier_id)


@get(
    "/supplier-data/stock-out-risk",
    tags=["supplier data"],
    summary="Places whose stock covers less than the lead time",
)
async def risk(actor: Actor, db_session: AsyncSession, supplier_id: QueryId) -> list[sellthrough.RiskRow]:
    return await sellthrough.stock_out_risk(db_session, actor, supplier_id=supplier_id)


@get("/supplier-data/stock-out-risk.csv", tags=["supplier data"], summary="Stock-out risk as CSV")
async def risk_csv(actor: Actor, db_session: AsyncSession, supplier_id: QueryId) -> Response[bytes]:
    return _csv(
        await sellthrough.stock_out_risk(db_session, actor, supplier_id=supplier_id), "stock-out-risk"
    )


class RequestIn(Strict):
    supplier_id: Id
    kind: Kind
    title: Title
    body: Text = ""
    product_id: Id | None = None
    photo_sha256s: Photos = []
    id: ClientId | None = None
    distributor_id: Id | None = None  # administrators only


class ActionIn(Strict):
    action: Action
    note: Text = ""


class EventOut(Out):
    id: str
    action: str
    status: str
    note: str
    by_user_id: str
    by_org_id: str
    at: datetime


class RequestOut(msgspec.Struct):
    id: str
    distributor_id: str
    supplier_id: str
    kind: str
    title: str
    body: str
    product_id: str | None
    photo_sha256s: list[str]
    status: str
    created_by: str
    created_at: datetime
    first_answered_at: datetime | None
    closed_at: datetime | None
    events: list[EventOut] | None = None

    @classmethod
    def of(cls, r: SupplierRequest, events: Sequence[RequestEvent] | None = None) -> RequestOut:
        return cls(
            r.id, r.distributor_id, r.supplier_id, r.kind, r.title, r.body, r.product_id,
            list(r.photo_sha256s), r.status, r.created_by, r.created_at, r.first_answered_at, r.closed_at,
            None if events is None else [EventOut.of(e) for e in events],
        )  # fmt: skip


@post("/supplier-requests", tags=["supplier requests"], summary="File a request to a supplier")
async def create_request(data: RequestIn, actor: Actor, db_session: AsyncSession) -> RequestOut:
    request = await file_request(
        db_session, actor, request_id=data.id, supplier_id=data.supplier_id, kind=data.kind, title=data.title,
        body=data.body, product_id=data.product_id, photo_sha256s=data.photo_sha256s,
        distributor_id=data.distributor_id,
    )  # fmt: skip
    return RequestOut.of(request, await events_of(db_session, request.id))


@get(
    "/supplier-requests",
    tags=["supplier requests"],
    summary="Requests of the caller's distributor or supplier",
)
async def list_requests(
    actor: Actor,
    db_session: AsyncSession,
    cursor: Cursor,
    limit: Limit,
    supplier_id: QueryId,
    distributor_id: QueryId,
    status: Annotated[str | None, Parameter(max_length=12)] = None,
    kind: Annotated[str | None, Parameter(max_length=20)] = None,
) -> Page[RequestOut]:
    stmt = requests.visibility(actor, select(SupplierRequest))
    filters: list[tuple[Any, Any]] = [
        (SupplierRequest.supplier_id, supplier_id), (SupplierRequest.distributor_id, distributor_id),
        (SupplierRequest.status, status), (SupplierRequest.kind, kind),
    ]  # fmt: skip
    for column, value in filters:
        if value is not None:
            stmt = stmt.where(column == value)
    return await paginate(db_session, stmt, SupplierRequest.id, RequestOut.of, cursor=cursor, limit=limit)


@get(
    "/supplier-requests/{request_id:str}", tags=["supplier requests"], summary="One request with its history"
)
async def one_request(request_id: PathId, actor: Actor, db_session: AsyncSession) -> RequestOut:
    request = await get_request(db_session, actor, request_id)
    return RequestOut.of(request, await events_of(db_session, request.id))


@post(
    "/supplier-requests/{request_id:str}/actions",
    tags=["supplier requests"],
    summary="Answer, accept, decline, deliver or comment",
)
async def request_action(
    request_id: PathId, data: ActionIn, actor: Actor, db_session: AsyncSession
) -> RequestOut:
    request = await act(db_session, actor, request_id=request_id, action=data.action, note=data.note)
    return RequestOut.of(request, await events_of(db_session, request.id))


ROUTES = [
    sell_through, sell_through_csv, stock, stock_csv, hot, risk, risk_csv, create_request, list_requests,
    one_request, request_action,
]  # fmt: skip
