"""Channel rules applied when an order is submitted: authorisation, prices and regional quota.

Quota consumption is race-free: quota rows are locked (``FOR UPDATE`` on PostgreSQL, in id
order so two submitters never deadlock; SQLite serialises writers with ``BEGIN IMMEDIATE``)
and re-read before the remaining amount is checked, so concurrent submitters never overspend.
What an order consumed is written to ``quota_uses`` and given back exactly on reject/cancel.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.catalog import ChannelAuthorisation, PriceEntry, Product, RegionalQuota
from backend.catalog.service import region_ancestry
from backend.orders.errors import InvalidOrder, NotAuthorisedForRegion, PriceMissing, QuotaExceeded
from backend.orders.models import Order, OrderLine, QuotaUse


async def check_authorised(
    session: AsyncSession,
    order: Order,
    lines: Sequence[OrderLine],
    products: dict[str, Product],
    region_id: str | None,
    today: date,
) -> list[str]:
    """Refuse SKUs whose category the distributor may not sell in ``region_id`` (or above it).

    Returns the region's ancestry (nearest first), which quota matching reuses.
    """
    ancestry = await region_ancestry(session, region_id)
    rows = (
        await session.execute(
            select(ChannelAuthorisation.supplier_id, ChannelAuthorisation.category_id).where(
                ChannelAuthorisation.distributor_id == order.distributor_id,
                ChannelAuthorisation.active.is_(True),
                ChannelAuthorisation.region_id.in_(ancestry),
                or_(ChannelAuthorisation.valid_from.is_(None), ChannelAuthorisation.valid_from <= today),
                or_(ChannelAuthorisation.valid_to.is_(None), ChannelAuthorisation.valid_to >= today),
            )
        )
    ).all()
    allowed = {(r.supplier_id, r.category_id) for r in rows}
    if (refusal := authorisation_refusal(lines, products, allowed, region_id)) is not None:
        raise refusal
    return ancestry


def authorisation_refusal(
    lines: Sequence[Any],
    products: dict[str, Any],
    allowed: set[tuple[str, str]],
    region_id: str | None,
) -> NotAuthorisedForRegion | None:
    """Why some lines' SKUs may not be sold (``allowed``: the (supplier, category) pairs the
    distributor is authorised for in the region or above it), or ``None``."""
    refused = [
        products[line.product_id]
        for line in lines
        if (products[line.product_id].supplier_id, products[line.product_id].category_id) not in allowed
    ]
    if refused:
        return NotAuthorisedForRegion(
            f"the distributor is not authorised to sell {', '.join(p.sku for p in refused[:10])} here",
            details={
                "region_id": region_id,
                "product_ids": [p.id for p in refused],
                "skus": [p.sku for p in refused],
            },
        )
    return None


def prices_of(lines: Sequence[Any], entries: dict[str, Any]) -> tuple[str, list[int]]:
    """(currency, unit price of each line) from the distributor's price ``entries`` by product,
    refusing a missing price or mixed currencies."""
    missing = [line.product_id for line in lines if line.product_id not in entries]
    if missing:
        raise PriceMissing(
            f"{len(missing)} product(s) have no price in the distributor's price list",
            details={"product_ids": missing},
        )
    currencies = {entries[line.product_id].currency for line in lines}
    if len(currencies) > 1:
        raise InvalidOrder(
            "the order's prices are in more than one currency",
            code="mixed_currency",
            details={"currencies": sorted(currencies)},
        )
    return currencies.pop(), [entries[line.product_id].price_minor for line in lines]


async def apply_prices(session: AsyncSession, order: Order, lines: Sequence[OrderLine]) -> None:
    """Price each line from the distributor's price list as it stands now, and total the order."""
    entries = {
        e.product_id: e
        for e in (
            await session.execute(
                select(PriceEntry).where(
                    PriceEntry.distributor_id == order.distributor_id,
                    PriceEntry.product_id.in_([line.product_id for line in lines]),
                )
            )
        ).scalars()
    }
    currency, prices = prices_of(lines, entries)
    total = 0
    for line, price in zip(lines, prices, strict=True):
        line.unit_price_minor = price
        line.line_total_minor = price * line.qty
        total += line.line_total_minor
    order.currency = currency
    order.total_minor = total


def _quota_need(quota: RegionalQuota, lines: Sequence[OrderLine], products: dict[str, Product]) -> int:
    if quota.product_id is not None:
        return sum(line.qty for line in lines if line.product_id == quota.product_id)
    return sum(line.qty for line in lines if products[line.product_id].category_id == quota.category_id)


def quota_takes(
    quotas: Sequence[Any], lines: Sequence[Any], products: dict[str, Any]
) -> list[tuple[Any, int]]:
    """What the order takes from each quota that covers some of its lines (``quotas`` in id order,
    as locked), or :class:`QuotaExceeded` with what is left of each one it would overspend."""
    takes: list[tuple[Any, int]] = []
    short: list[dict[str, Any]] = []
    for quota in quotas:
        need = _quota_need(quota, lines, products)
        if need == 0:
            continue
        remaining = max(quota.limit_qty - quota.used_qty, 0)
        if need > remaining:
            short.append(
                {
                    "quota_id": quota.id,
                    "product_id": quota.product_id,
                    "category_id": quota.category_id,
                    "region_id": quota.region_id,
                    "limit": quota.limit_qty,
                    "remaining": remaining,
                    "requested": need,
                }
            )
        takes.append((quota, need))
    if short:
        raise QuotaExceeded(
            f"the regional quota has {short[0]['remaining']} left; the order needs {short[0]['requested']}",
            details={"remaining": short[0]["remaining"], "quotas": short},
        )
    return takes


async def consume_quotas(
    session: AsyncSession,
    order: Order,
    lines: Sequence[OrderLine],
    products: dict[str, Product],
    ancestry: list[str],
    today: date,
) -> None:
    """Take the order's quantities from every quota that covers them, or refuse with what is left.

    A line counts against its SKU's quotas and its category's quotas in the order's region or
    any region above it, for the period containing ``today``. No quota means no limit.
    """
    product_ids = {line.product_id for line in lines}
    category_ids = {products[pid].category_id for pid in product_ids}
    quotas = (
        (
            await session.execute(
                select(RegionalQuota)
                .where(
                    RegionalQuota.distributor_id == order.distributor_id,
                    RegionalQuota.supplier_id == order.supplier_id,
                    RegionalQuota.region_id.in_(ancestry),
                    RegionalQuota.period_start <= today,
                    RegionalQuota.period_end >= today,
                    or_(
                        RegionalQuota.product_id.in_(product_ids),
                        RegionalQuota.category_id.in_(category_ids),
                    ),
                )
                .order_by(RegionalQuota.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    takes = quota_takes(quotas, lines, products)
    for quota, need in takes:
        quota.used_qty += need
        session.add(QuotaUse(order_id=order.id, quota_id=quota.id, qty=need))
    await session.flush()


async def release_quotas(session: AsyncSession, order: Order) -> None:
    """Give back exactly what the order consumed (on reject or cancel)."""
    uses = (await session.execute(select(QuotaUse).where(QuotaUse.order_id == order.id))).scalars().all()
    if not uses:
        return
    taken = {u.quota_id: u.qty for u in uses}
    quotas = (
        (
            await session.execute(
                select(RegionalQuota)
                .where(RegionalQuota.id.in_(taken))
                .order_by(RegionalQuota.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    for quota in quotas:
        quota.used_qty = max(quota.used_qty - taken[quota.id], 0)
    for use in uses:
        await session.delete(use)
    await session.flush()
