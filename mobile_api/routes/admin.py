"""Administration: organisations, regions, users, devices, catalog, prices, channel rules.

Reads are scoped to the caller's organisation (administrators see all); writes need an
administrator, or the owning supplier's staff for catalog and channel rules.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import msgspec
from litestar import Request, get, patch, post
from litestar.datastructures import State
from litestar.params import Parameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.bounds import Id, one_of, pattern
from backend.catalog import Category, ChannelAuthorisation, PriceEntry, Product, RegionalQuota
from backend.catalog import service as catalog
from backend.catalog.importer import import_catalog_csv
from backend.identity import ROLES, Actor, Device, Organisation, Region, User
from backend.identity import service as identity
from backend.identity.errors import OrgNotFound
from mobile_api.deps import read_body
from mobile_api.errors import ApiError
from mobile_api.paging import paginate
from mobile_api.params import PathId, QueryId
from mobile_api.routes.auth import DeviceOut, UserOut
from mobile_api.schemas import Out, Page, Strict

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Limit = Annotated[int, Parameter(ge=1, le=500, default=100)]
# Amounts and quantities are 32-bit integer columns.
Level = one_of("country", "province", "city", "district")
OrgKind = one_of("supplier", "distributor", "terminal", "service_provider")
Unit = one_of("each", "case", "kg", "l", "box", "pack")
Currency = pattern("^[A-Za-z]{3}$", 3)
Amount = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]
Cursor = Annotated[str | None, Parameter(max_length=64, default=None)]


# --- organisations and regions ----------------------------------------------------------


class RegionIn(Strict):
    level: Level
    code: Code
    name: Name
    parent_id: Id | None = None


class RegionOut(Out):
    id: str
    level: str
    code: str
    name: str
    parent_id: str | None


class OrganisationIn(Strict):
    kind: OrgKind
    name: Name
    code: Code
    region_id: Id | None = None
    parent_id: Id | None = None


class OrganisationOut(Out):
    id: str
    kind: str
    name: str
    code: str
    region_id: str | None
    parent_id: str | None
    active: bool


@post("/admin/regions", tags=["admin"])
async def create_region(data: RegionIn, actor: Actor, db_session: AsyncSession) -> RegionOut:
    actor.require_admin()
    return RegionOut.of(await identity.create_region(db_session, **msgspec.structs.asdict(data)))


@get("/admin/regions", tags=["admin"])
async def list_regions(
    actor: Actor, db_session: AsyncSession, cursor: Cursor, limit: Limit, parent_id: QueryId = None
) -> Page[RegionOut]:
    stmt = select(Region)
    if parent_id:
        stmt = stmt.where(Region.parent_id == parent_id)
    return await paginate(db_session, stmt, Region.id, RegionOut.of, cursor=cursor, limit=limit)


@post("/admin/organisations", tags=["admin"])
async def create_organisation(
    data: OrganisationIn, actor: Actor, db_session: AsyncSession
) -> OrganisationOut:
    actor.require_admin()
    return OrganisationOut.of(await identity.create_organisation(db_session, **msgspec.structs.asdict(data)))


@get("/admin/organisations", tags=["admin"])
async def list_organisations(
    actor: Actor,
    db_session: AsyncSession,
    cursor: Cursor,
    limit: Limit,
    kind: Literal["supplier", "distributor", "terminal", "service_provider"] | None = None,
) -> Page[OrganisationOut]:
    stmt = select(Organisation)
    if not actor.is_admin:
        # One's own organisation, the terminals it serves and, for a distributor, the suppliers that
        # authorise it (whose catalogs it syncs, and to whom its purchase orders go).
        stmt = stmt.where(
            (Organisation.id == actor.org_id)
            | (Organisation.parent_id == actor.org_id)
            | Organisation.id.in_(catalog.authorising_suppliers(actor))
        )
    if kind:
        stmt = stmt.where(Organisation.kind == kind)
    return await paginate(db_session, stmt, Organisation.id, OrganisationOut.of, cursor=cursor, limit=limit)


@get("/admin/organisations/{org_id:str}", tags=["admin"])
async def get_organisation(org_id: PathId, actor: Actor, db_session: AsyncSession) -> OrganisationOut:
    org = await identity.get_organisation(db_session, org_id)
    mine = actor.is_admin or actor.org_id in (org.id, org.parent_id)
    if not mine and org.id not in await catalog.entitled_suppliers(db_session, actor):
        raise OrgNotFound("no such organisation")  # another one's looks missing
    return OrganisationOut.of(org)


# --- users and devices ------------------------------------------------------------------


Role = one_of(*ROLES)


class UserIn(Strict):
    org_id: Id
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    display_name: Name
    role: Role
    password: Annotated[str, msgspec.Meta(min_length=8, max_length=256)]


class UserPatch(Strict):
    display_name: Name | None = None
    role: Role | None = None


@post("/admin/users", tags=["admin"])
async def create_user(data: UserIn, actor: Actor, db_session: AsyncSession) -> UserOut:
    actor.require_admin()
    return UserOut.of(await identity.create_user(db_session, **msgspec.structs.asdict(data)))


@get("/admin/users", tags=["admin"])
async def list_users(
    actor: Actor, db_session: AsyncSession, cursor: Cursor, limit: Limit, org_id: QueryId = None
) -> Page[UserOut]:
    stmt = select(User)
    visible = actor.visible_org(org_id)
    if visible:
        stmt = stmt.where(User.org_id == visible)
    return await paginate(db_session, stmt, User.id, UserOut.of, cursor=cursor, limit=limit)


@get("/admin/users/{user_id:str}", tags=["admin"])
async def get_user(user_id: PathId, actor: Actor, db_session: AsyncSession) -> UserOut:
    return UserOut.of(await identity.get_user(db_session, actor, user_id))


@patch("/admin/users/{user_id:str}", tags=["admin"])
async def update_user(user_id: PathId, data: UserPatch, actor: Actor, db_session: AsyncSession) -> UserOut:
    actor.require_admin()
    user = await identity.get_user(db_session, actor, user_id)
    if data.display_name is not None:
        user.display_name = data.display_name
    if data.role is not None:
        user.role = data.role
    await db_session.flush()
    return UserOut.of(user)


@get("/admin/devices", tags=["admin"])
async def list_devices(
    actor: Actor, db_session: AsyncSession, cursor: Cursor, limit: Limit, user_id: QueryId = None
) -> Page[DeviceOut]:
    stmt = identity.visible_devices(actor, select(Device))
    if user_id:
        stmt = stmt.where(Device.user_id == user_id)
    return await paginate(db_session, stmt, Device.id, DeviceOut.of, cursor=cursor, limit=limit)


@get("/admin/devices/{device_id:str}", tags=["admin"])
async def get_device(device_id: PathId, actor: Actor, db_session: AsyncSession) -> DeviceOut:
    return DeviceOut.of(await identity.get_device(db_session, actor, device_id))


# --- catalog ----------------------------------------------------------------------------


class CategoryIn(Strict):
    supplier_id: Id
    code: Code
    name: Name


class CategoryOut(Out):
    id: str
    supplier_id: str
    code: str
    name: str


class ProductIn(Strict):
    supplier_id: Id
    category_id: Id
    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    name: Name
    unit: Unit = "each"
    pack_size: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 1


class ProductOut(Out):
    id: str
    supplier_id: str
    category_id: str
    sku: str
    name: str
    unit: str
    pack_size: int
    active: bool


@post("/admin/categories", tags=["catalog"])
async def create_category(data: CategoryIn, actor: Actor, db_session: AsyncSession) -> CategoryOut:
    return CategoryOut.of(await catalog.create_category(db_session, actor, **msgspec.structs.asdict(data)))


@get("/admin/categories", tags=["catalog"])
async def list_categories(
    actor: Actor, db_session: AsyncSession, cursor: Cursor, limit: Limit, supplier_id: QueryId = None
) -> Page[CategoryOut]:
    stmt = await catalog.readable_catalog(select(Category), Category.supplier_id, db_session, actor)
    if supplier_id:
        stmt = stmt.where(Category.supplier_id == supplier_id)
    return await paginate(db_session, stmt, Category.id, CategoryOut.of, cursor=cursor, limit=limit)


@post("/admin/products", tags=["catalog"])
async def create_product(data: ProductIn, actor: Actor, db_session: AsyncSession) -> ProductOut:
    return ProductOut.of(await catalog.create_product(db_session, actor, **msgspec.structs.asdict(data)))


@get("/admin/products", tags=["catalog"])
async def list_products(
    actor: Actor,
    db_session: AsyncSession,
    cursor: Cursor,
    limit: Limit,
    supplier_id: QueryId = None,
    category_id: QueryId = None,
    sku: Annotated[str | None, Parameter(max_length=64, description="exact SKU")] = None,
) -> Page[ProductOut]:
    stmt = await catalog.readable_catalog(select(Product), Product.supplier_id, db_session, actor)
    if supplier_id:
        stmt = stmt.where(Product.supplier_id == supplier_id)
    if sku:
        stmt = stmt.where(Product.sku == sku)
    if category_id:
        stmt = stmt.where(Product.category_id == category_id)
    return await paginate(db_session, stmt, Product.id, ProductOut.of, cursor=cursor, limit=limit)


@get("/admin/products/{product_id:str}", tags=["catalog"])
async def get_product(product_id: PathId, actor: Actor, db_session: AsyncSession) -> ProductOut:
    return ProductOut.of(await catalog.get_product(db_session, product_id, actor))


class ImportOut(msgspec.Struct):
    created: int
    updated: int
    categories_created: int


@post(
    "/admin/catalog/import",
    tags=["catalog"],
    summary="Import a supplier's catalog from CSV (all or nothing)",
    request_max_body_size=None,  # FIELDSYNC_MAX_IMPORT_BYTES applies instead, below
)
async def import_catalog(
    request: Request,
    state: State,
    actor: Actor,
    db_session: AsyncSession,
    supplier_id: Annotated[str, Parameter(max_length=64)],
) -> ImportOut:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("text/csv", "text/plain", "application/octet-stream")):
        raise ApiError(415, "unsupported_media_type", "send the file as text/csv")
    body = await read_body(request, limit=state.settings.max_import_bytes)
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_encoding", "the file is not UTF-8 text") from None
    report = await import_catalog_csv(db_session, actor, supplier_id=supplier_id, text=text)
    return ImportOut(report.created, report.updated, report.categories_created)


# --- prices, authorisations, quotas -----------------------------------------------------


class PriceIn(Strict):
    distributor_id: Id
    product_id: Id
    price_minor: Amount
    currency: Currency = "EUR"


class PriceOut(Out):
    id: str
    distributor_id: str
    product_id: str
    price_minor: int
    currency: str


@post("/admin/prices", tags=["channel"], summary="Set a distributor's price for a product")
async def set_price(data: PriceIn, actor: Actor, db_session: AsyncSession) -> PriceOut:
    return PriceOut.of(await catalog.set_price(db_session, actor, **msgspec.structs.asdict(data)))


@get("/admin/prices", tags=["channel"])
async def list_prices(
    actor: Actor, db_session: AsyncSession, cursor: Cursor, limit: Limit, distributor_id: QueryId = None
) -> Page[PriceOut]:
    stmt = catalog.price_visibility(actor, select(PriceEntry), distributor_id)
    return await paginate(db_session, stmt, PriceEntry.id, PriceOut.of, cursor=cursor, limit=limit)


@get("/admin/prices/{price_id:str}", tags=["channel"])
async def get_price(price_id: PathId, actor: Actor, db_session: AsyncSession) -> PriceOut:
    stmt = catalog.price_visibility(actor, select(PriceEntry), None).where(PriceEntry.id == price_id)
    entry = (await db_session.execute(stmt)).scalar_one_or_none()
    if entry is None:
        raise ApiError(404, "price_not_found", f"price {price_id} does not exist")
    return PriceOut.of(entry)


class AuthorisationIn(Strict):
    supplier_id: Id
    distributor_id: Id
    category_id: Id
    region_id: Id
    valid_from: date | None = None
    valid_to: date | None = None


class AuthorisationOut(Out):
    id: str
    supplier_id: str
    distributor_id: str
    category_id: str
    region_id: str
    active: bool
    valid_from: date | None
    valid_to: date | None


@post("/admin/authorisations", tags=["channel"], summary="Authorise a distributor for a category in a region")
async def grant_authorisation(
    data: AuthorisationIn, actor: Actor, db_session: AsyncSession
) -> AuthorisationOut:
    return AuthorisationOut.of(
        await catalog.grant_authorisation(db_session, actor, **msgspec.structs.asdict(data))
    )


@get("/admin/authorisations", tags=["channel"])
async def list_authorisations(
    actor: Actor, db_session: AsyncSession, cursor: Cursor, limit: Limit
) -> Page[AuthorisationOut]:
    stmt = catalog.channel_visibility(actor, ChannelAuthorisation, select(ChannelAuthorisation))
    return await paginate(
        db_session, stmt, ChannelAuthorisation.id, AuthorisationOut.of, cursor=cursor, limit=limit
    )


class QuotaIn(Strict):
    supplier_id: Id
    distributor_id: Id
    region_id: Id
    period_start: date
    period_end: date
    limit_qty: Amount
    product_id: Id | None = None
    category_id: Id | None = None


class QuotaOut(Out):
    id: str
    supplier_id: str
    distributor_id: str
    region_id: str
    product_id: str | None
    category_id: str | None
    period_start: date
    period_end: date
    limit_qty: int
    used_qty: int


@post("/admin/quotas", tags=["channel"], summary="Set a regional quota for a distributor")
async def set_quota(data: QuotaIn, actor: Actor, db_session: AsyncSession) -> QuotaOut:
    return QuotaOut.of(await catalog.set_quota(db_session, actor, **msgspec.structs.asdict(data)))


@get("/admin/quotas", tags=["channel"])
async def list_quotas(actor: Actor, db_session: AsyncSession, cursor: Cursor, limit: Limit) -> Page[QuotaOut]:
    stmt = catalog.channel_visibility(actor, RegionalQuota, select(RegionalQuota))
    return await paginate(db_session, stmt, RegionalQuota.id, QuotaOut.of, cursor=cursor, limit=limit)


@get("/admin/quotas/{quota_id:str}", tags=["channel"])
async def get_quota(quota_id: PathId, actor: Actor, db_session: AsyncSession) -> QuotaOut:
    stmt = catalog.channel_visibility(actor, RegionalQuota, select(RegionalQuota)).where(
        RegionalQuota.id == quota_id
    )
    quota = (await db_session.execute(stmt)).scalar_one_or_none()
    if quota is None:
        raise ApiError(404, "quota_not_found", f"quota {quota_id} does not exist")
    return QuotaOut.of(quota)


ROUTES = [
    create_region,
    list_regions,
    create_organisation,
    list_organisations,
    get_organisation,
    create_user,
    list_users,
    get_user,
    update_user,
    list_devices,
    get_device,
    create_category,
    list_categories,
    create_product,
    list_products,
    get_product,
    import_catalog,
    set_price,
    list_prices,
    get_price,
    grant_authorisation,
    list_authorisations,
    set_quota,
    list_quotas,
    get_quota,
]
