"""What a supplier is entitled to see of its distributors: the one place that decides it.

A supplier sees a distributor's sales and stock only for the categories it authorises that
distributor for (an active channel authorisation), and only of its own products.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend.catalog import ChannelAuthorisation, Product


async def authorised_distributor_ids(session: AsyncSession, supplier_id: str) -> list[str]:
    """Distributors holding an active authorisation of ``supplier_id``."""
    rows = await session.execute(
        select(ChannelAuthorisation.distributor_id)
        .where(ChannelAuthorisation.supplier_id == supplier_id, ChannelAuthorisation.active.is_(True))
        .distinct()
    )
    return sorted(rows.scalars())


def entitled(supplier_id: str, distributor_column: object, product_column: object) -> object:
    """SQL condition: the row's product is the supplier's and its category is authorised for the
    row's distributor (an active authorisation)."""
    product = aliased(Product)
    return (
        select(ChannelAuthorisation.id)
        .join(product, product.category_id == ChannelAuthorisation.category_id)
        .where(
            product.id == product_column,
            product.supplier_id == supplier_id,
            ChannelAuthorisation.supplier_id == supplier_id,
            ChannelAuthorisation.distributor_id == distributor_column,
            ChannelAuthorisation.active.is_(True),
        )
        .exists()
    )
