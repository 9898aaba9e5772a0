"""Catalog services. Writes are for administrators and the owning supplier's staff."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, false, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.catalog.errors import CategoryNotFound, DuplicateSku, ProductNotFound
from backend.catalog.models import Category, ChannelAuthorisation, PriceEntry, Product, RegionalQuota
from backend.errors import Conflict, InvalidInput
from backend.identity import Actor, Organisation
from backend.identity.errors import NotAllowed, OrgNotFound, RegionNotFound
from backend.identity.models import Region


def require_supplier_admin(actor: Actor, supplier_id: str) -> None:
    """Administrators, or staff of the supplier that owns the thing."""
    if actor.is_admin:
        return
    if actor.role == "supplier_staff" and actor.org_id == supplier_id:
        return
    if actor.org_kind == "supplier":
        raise OrgNotFound("no such supplier")  # another supplier's catalog looks missing
    raise NotAllowed("only an administrator or this supplier's staff may change it")


async def _org_of_kind(session: AsyncSession, org_id: str, kind: str) -> Organisation:
    org = await session.get(Organisation, org_id)
    if org is None or org.kind != kind:
        raise OrgNotFound(f"{kind} {org_id} does not exist")
    return org


async def _supplier_category(session: AsyncSession, supplier_id: str, category_id: str) -> Category:
    category = await session.get(Category, category_id)
    if category is None or category.supplier_id != supplier_id:
        raise CategoryNotFound(f"category {category_id} does not exist for this supplier")
    return category


async def _require_region(session: AsyncSession, region_id: str) -> None:
    if await session.get(Region, region_id) is None:
        raise RegionNotFound(f"region {region_id} does not exist")


async def create_category(
    session: AsyncSession, actor: Actor, *, supplier_id: str, code: str, name: str
) -> Category:
    require_supplier_admin(actor, supplier_id)
    await _org_of_kind(session, supplier_id, "supplier")
    exists = await session.execute(
        select(Category.id).where(Category.supplier_id == supplier_id, Category.code == code)
    )
    if exists.first():
        raise Conflict(f"category {code!r} exists", code="category_exists")
    category = Category(supplier_id=supplier_id, code=code, name=name)
    session.add(category)
    await session.flush()
    return category


async def create_product(
    session: AsyncSession,
    actor: Actor,
    *,
    supplier_id: str,
    category_id: str,
    sku: str,
    name: str,
    unit: str = "each",
    pack_size: int = 1,
) -> Product:
    require_supplier_admin(actor, supplier_id)
    await _supplier_category(session, supplier_id, category_id)
    if pack_size < 1:
        raise InvalidInput("pack_size must be at least 1", code="invalid_pack_size")
    exists = await session.execute(
        select(Product.id).where(Product.supplier_id == supplier_id, Product.sku == sku)
    )
    if exists.first():
        raise DuplicateSku(f"SKU {sku!r} exists")
    product = Product(
        supplier_id=supplier_id, category_id=category_id, sku=sku, name=name, unit=unit, pack_size=pack_size
    )
    session.add(product)
    await session.flush()
    return product


async def entitled_suppliers(session: AsyncSession, actor: Actor) -> set[str]:
    """The suppliers whose catalog ``actor`` may read (the ``catalog:<supplier>`` sync scopes and
    the REST catalog reads follow this one rule): a supplier its own; a distributor's people
    those with an active channel authorisation for it; nobody else any."""
    if actor.org_kind == "supplier":
        return {actor.org_id}
    return set((await session.execute(authorising_suppliers(actor).distinct())).scalars())


async def readable_catalog(stmt: Select, supplier_column: Any, session: AsyncSession, actor: Actor) -> Select:
    """``stmt`` narrowed to the catalogs ``actor`` may read (administrators: all)."""
    if actor.is_admin:
        return stmt
    return stmt.where(supplier_column.in_(sorted(await entitled_suppliers(session, actor))))


async def get_product(session: AsyncSession, product_id: str, actor: Actor | None = None) -> Product:
    """The product; one in a catalog ``actor`` may not read looks missing."""
    product = await session.get(Product, product_id)
    if product is None or (
        actor is not None
        and not actor.is_admin
        and product.supplier_id not in await entitled_suppliers(session, actor)
    ):
        raise ProductNotFound(f"product {product_id} does not exist")
    return product


async def set_price(
    session: AsyncSession,
    actor: Actor,
    *,
    distributor_id: str,
    product_id: str,
    price_minor: int,
    currency: str,
) -> PriceEntry:
    product = await get_product(session, product_id)
    require_supplier_admin(actor, product.supplier_id)
    await _org_of_kind(session, distributor_id, "distributor")
    if price_minor < 0:
        raise InvalidInput("price must not be negative", code="invalid_price")
    entry = (
        await session.execute(
            select(PriceEntry).where(
                PriceEntry.distributor_id == distributor_id, PriceEntry.product_id == product_id
            )
        )
    ).scalar_one_or_none()
    if entry is None:
        entry = PriceEntry(distributor_id=distributor_id, product_id=product_id, price_minor=price_minor)
        session.add(entry)
    entry.price_minor = price_minor
    entry.currency = currency.upper()
    await session.flush()
    return entry


def price_visibility(actor: Actor, stmt: Select, distributor_id: str | None) -> Select:
    """Distributors see their own price list, suppliers the prices of their products."""
    if actor.is_admin:
        return stmt.where(PriceEntry.distributor_id == distributor_id) if distributor_id else stmt
    if actor.org_kind == "supplier":
        stmt = stmt.join(Product, Product.id == PriceEntry.product_id).where(
            Product.supplier_id == actor.org_id
        )
        return stmt.where(PriceEntry.distributor_id == distributor_id) if distributor_id else stmt
    if distributor_id is not None and distributor_id != actor.org_id:
        raise OrgNotFound("no such distributor")  # another one's price list looks missing
    return stmt.where(PriceEntry.distributor_id == actor.org_id)


def channel_visibility(
    actor: Actor, model: type[ChannelAuthorisation] | type[RegionalQuota], stmt: Select
) -> Select:
    """Authorisations and quotas are seen by both parties and administrators."""
    if actor.is_admin:
        return stmt
    if actor.org_kind == "supplier":
        return stmt.where(model.supplier_id == actor.org_id)
    return stmt.where(model.distributor_id == actor.org_id)


def authorising_suppliers(actor: Actor) -> Select[tuple[str]]:
    """The ids of the suppliers whose active channel authorisation names the actor's distributor
    (none for other organisations): a distributor's view of who it may order from."""
    stmt = select(ChannelAuthorisation.supplier_id).where(ChannelAuthorisation.active.is_(True))
    if actor.org_kind != "distributor":
        return stmt.where(false())
    return stmt.where(ChannelAuthorisation.distributor_id == actor.org_id)


async def trading_partners(session: AsyncSession, actor: Actor) -> set[str]:
    """The organisations across a channel authorisation from the actor's, active or withdrawn: a
    supplier's distributors, a distributor's suppliers (their names stay on old orders and claims)."""
    sides = {
        "supplier": (ChannelAuthorisation.supplier_id, ChannelAuthorisation.distributor_id),
        "distributor": (ChannelAuthorisation.distributor_id, ChannelAuthorisation.supplier_id),
    }
    if actor.org_kind not in sides:
        return set()
    own, other = sides[actor.org_kind]
    stmt = select(other).where(own == actor.org_id).distinct()
    return set((await session.execute(stmt)).scalars())


async def grant_authorisation(
    session: AsyncSession,
    actor: Actor,
    *,
    supplier_id: str,
    distributor_id: str,
    category_id: str,
    region_id: str,
    valid_from: date | None = None,
    valid_to: date | None = None,
) -> ChannelAuthorisation:
    require_supplier_admin(actor, supplier_id)
    await _org_of_kind(session, distributor_id, "distributor")
    await _supplier_category(session, supplier_id, category_id)
    await _require_region(session, region_id)
    existing = (
        await session.execute(
            select(ChannelAuthorisation).where(
                ChannelAuthorisation.supplier_id == supplier_id,
                ChannelAuthorisation.distributor_id == distributor_id,
                ChannelAuthorisation.category_id == category_id,
                ChannelAuthorisation.region_id == region_id,
            )
        )
    ).scalar_one_or_none()
    auth = existing or ChannelAuthorisation(
        supplier_id=supplier_id, distributor_id=distributor_id, category_id=category_id, region_id=region_id
    )
    auth.active = True
    auth.valid_from = valid_from
    auth.valid_to = valid_to
    session.add(auth)
    await session.flush()
    return auth


async def set_quota(
    session: AsyncSession,
    actor: Actor,
    *,
    supplier_id: str,
    distributor_id: str,
    region_id: str,
    period_start: date,
    period_end: date,
    limit_qty: int,
    product_id: str | None = None,
    category_id: str | None = None,
) -> RegionalQuota:
    require_supplier_admin(actor, supplier_id)
    if (product_id is None) == (category_id is None):
        raise InvalidInput(
            "a quota is for exactly one of product_id or category_id", code="invalid_quota_target"
        )
    if period_end < period_start:
        raise InvalidInput("period_end is before period_start", code="invalid_period")
    if limit_qty < 0:
        raise InvalidInput("limit_qty must not be negative", code="invalid_quota_limit")
    await _org_of_kind(session, distributor_id, "distributor")
    await _require_region(session, region_id)
    if product_id is not None and (await get_product(session, product_id)).supplier_id != supplier_id:
        raise ProductNotFound(f"product {product_id} does not exist for this supplier")
    if category_id is not None:
        await _supplier_category(session, supplier_id, category_id)
    quota = RegionalQuota(
        supplier_id=supplier_id,
        distributor_id=distributor_id,
        region_id=region_id,
        product_id=product_id,
        category_id=category_id,
        period_start=period_start,
        period_end=period_end,
        limit_qty=limit_qty,
    )
    session.add(quota)
    await session.flush()
    return quota


async def region_ancestry(session: AsyncSession, region_id: str | None) -> list[str]:
    """The region and every region above it, nearest first."""
    chain: list[str] = []
    while region_id is not None and region_id not in chain:
        chain.append(region_id)
        # ``get``: a push batch keeps what it read in the identity map, so a region is read once.
        region = await session.get(Region, region_id)
        region_id = region.parent_id if region is not None else None
    return chain
