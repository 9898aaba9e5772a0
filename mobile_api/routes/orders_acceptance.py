"""Goods acceptance and claims over REST (collected into ``orders.ROUTES``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import get, post
from sqlalchemy.ext.asyncio import AsyncSession

from backend.acceptance import Acceptance, AcceptanceLine, Claim
from backend.acceptance import service as acceptance
from backend.bounds import Sha256
from backend.identity import Actor
from mobile_api.params import PathId
from mobile_api.routes.orders_params import ClientId, Cursor, Id, Limit, StateFilter
from mobile_api.schemas import Page, Strict

Count = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]


class AcceptanceLineIn(Strict):
    delivery_line_id: Id | None = None
    product_id: Id | None = None
    accepted: Count = 0
    short: Count = 0
    damaged: Count = 0
    wrong: Count = 0


class AcceptanceIn(Strict):
    lines: Annotated[list[AcceptanceLineIn], msgspec.Meta(min_length=1, max_length=500)]
    id: ClientId | None = None
    notes: Annotated[str, msgspec.Meta(max_length=acceptance.MAX_NOTES)] = ""
    gps: Annotated[list[float], msgspec.Meta(min_length=2, max_length=2)] | None = None
    signature_sha256: Sha256 | None = None
    photo_sha256s: Annotated[list[Sha256], msgspec.Meta(max_length=acceptance.MAX_PHOTOS)] = []
    accepted_at: datetime | None = None


class AcceptanceLineOut(msgspec.Struct):
    id: str
    delivery_line_id: str
    product_id: str
    shipped: int
    accepted: int
    short: int
    damaged: int
    wrong: int


class AcceptanceOut(msgspec.Struct):
    id: str
    delivery_id: str
    order_id: str
    kind: str
    distributor_id: str
    supplier_id: str | None
    terminal_id: str | None
    recorded_by: str
    accepted_at: datetime
    notes: str
    gps: list[float] | None
    signature_sha256: str | None
    photo_sha256s: list[str]
    has_discrepancy: bool
    lines: list[AcceptanceLineOut] | None = None

    @classmethod
    def of(cls, a: Acceptance, lines: list[AcceptanceLine] | None = None) -> AcceptanceOut:
        return cls(
            a.id,
            a.delivery_id,
            a.order_id,
            a.kind,
            a.distributor_id,
            a.supplier_id,
            a.terminal_id,
            a.recorded_by,
            a.accepted_at,
            a.notes,
            [a.gps_lat, a.gps_lon] if a.gps_lat is not None and a.gps_lon is not None else None,
            a.signature_sha256,
            list(a.photo_sha256s or []),
            a.has_discrepancy,
            [
                AcceptanceLineOut(
                    x.id, x.delivery_line_id, x.product_id, x.shipped, x.accepted, x.short, x.damaged, x.wrong
                )
                for x in lines
            ]
            if lines is not None
            else None,
        )


class ClaimOut(msgspec.Struct):
    id: str
    acceptance_id: str
    delivery_id: str
    order_id: str
    kind: str
    distributor_id: str
    supplier_id: str | None
    terminal_id: str | None
    state: str
    short_qty: int
    damaged_qty: int
    wrong_qty: int
    items: list[dict[str, Any]]
    opened_at: datetime
    resolved_at: datetime | None
    resolution: str | None

    @classmethod
    def of(cls, c: Claim) -> ClaimOut:
        return cls(
            c.id,
            c.acceptance_id,
            c.delivery_id,
            c.order_id,
            c.kind,
            c.distributor_id,
            c.supplier_id,
            c.terminal_id,
            c.state,
            c.short_qty,
            c.damaged_qty,
            c.wrong_qty,
            list(c.items or []),
            c.opened_at,
            c.resolved_at,
            c.resolution,
        )


class ResolveIn(Strict):
    resolution: Annotated[str, msgspec.Meta(min_length=1, max_length=acceptance.MAX_NOTES)]


@post(
    "/deliveries/{delivery_id:str}/acceptance",
    tags=["acceptance"],
    summary="Accept a delivery line by line (one per delivery; a later one gets 409 acceptance_exists)",
)
async def record_acceptance(
    delivery_id: PathId, data: AcceptanceIn, actor: Actor, db_session: AsyncSession
) -> AcceptanceOut:
    record = await acceptance.record_acceptance(
        db_session,
        actor,
        acceptance_id=data.id,
        delivery_id=delivery_id,
        lines=[msgspec.structs.asdict(line) for line in data.lines],
        notes=data.notes,
        gps=tuple(data.gps) if data.gps is not None else None,
        signature_sha256=data.signature_sha256,
        photo_sha256s=data.photo_sha256s,
        accepted_at=data.accepted_at,
    )
    return AcceptanceOut.of(record, await acceptance.acceptance_lines(db_session, record.id))


@get("/acceptances", tags=["acceptance"])
async def list_acceptances(
    actor: Actor,
    db_session: AsyncSession,
    cursor: Cursor,
    limit: Limit,
    has_discrepancy: bool | None = None,
) -> Page[AcceptanceOut]:
    listing = await acceptance.list_acceptances(
        db_session, actor, has_discrepancy=has_discrepancy, cursor=cursor, limit=limit
    )
    return Page(items=[AcceptanceOut.of(a) for a in listing.items], next_cursor=listing.next_cursor)


@get("/acceptances/{acceptance_id:str}", tags=["acceptance"])
async def get_acceptance(acceptance_id: PathId, actor: Actor, db_session: AsyncSession) -> AcceptanceOut:
    record = await acceptance.get_acceptance(db_session, actor, acceptance_id=acceptance_id)
    return AcceptanceOut.of(record, await acceptance.acceptance_lines(db_session, record.id))


@get("/claims", tags=["acceptance"])
async def list_claims(
    actor: Actor, db_session: AsyncSession, cursor: Cursor, limit: Limit, state_filter: StateFilter = None
) -> Page[ClaimOut]:
    listing = await acceptance.list_claims(db_session, actor, state=state_filter, cursor=cursor, limit=limit)
    return Page(items=[ClaimOut.of(c) for c in listing.items], next_cursor=listing.next_cursor)


@get("/claims/{claim_id:str}", tags=["acceptance"])
async def get_claim(claim_id: PathId, actor: Actor, db_session: AsyncSession) -> ClaimOut:
    return ClaimOut.of(await acceptance.get_claim(db_session, actor, claim_id=claim_id))


@post("/claims/{claim_id:str}/resolve", tags=["acceptance"], status_code=200)
async def resolve_claim(
    claim_id: PathId, data: ResolveIn, actor: Actor, db_session: AsyncSession
) -> ClaimOut:
    claim = await acceptance.resolve_claim(db_session, actor, claim_id=claim_id, resolution=data.resolution)
    return ClaimOut.of(claim)


ROUTES: list[Any] = [
    record_acceptance,
    list_acceptances,
    get_acceptance,
    list_claims,
    get_claim,
    resolve_claim,
]
