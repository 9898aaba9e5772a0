"""Catalog and channel: categories, products, price lists, authorisations, quotas."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.changefeed import Syncable
from backend.db import Base, IdStr, new_id, utcnow


class Category(Syncable, Base):
    __tablename__ = "categories"
    __sync_entity__ = "category"
    __table_args__ = (UniqueConstraint("supplier_id", "code"),)

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    supplier_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        return {f"catalog:{get('supplier_id')}"}


class Product(Syncable, Base):
    __tablename__ = "products"
    __sync_entity__ = "product"
    __table_args__ = (UniqueConstraint("supplier_id", "sku"),)

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    supplier_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    category_id: Mapped[str] = mapped_column(ForeignKey("categories.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(16), default="each")
    pack_size: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        return {f"catalog:{get('supplier_id')}"}


class PriceEntry(Syncable, Base):
    """A distributor's price for a product, in minor currency units."""

    __tablename__ = "price_entries"
    __sync_entity__ = "price"
    __table_args__ = (UniqueConstraint("distributor_id", "product_id"),)

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    distributor_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), index=True)
    price_minor: Mapped[int] = mapped_column(BigInteger)  # money: BIGINT end to end
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        return {f"org:{get('distributor_id')}"}


class ChannelAuthorisation(Syncable, Base):
    """A supplier lets a distributor sell a category in a region (and the regions below it)."""

    __tablename__ = "channel_authorisations"
    __sync_entity__ = "authorisation"
    __table_args__ = (UniqueConstraint("supplier_id", "distributor_id", "category_id", "region_id"),)

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    supplier_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    distributor_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    category_id: Mapped[str] = mapped_column(ForeignKey("categories.id"))
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    valid_from: Mapped[date | None] = mapped_column(Date, default=None)
    valid_to: Mapped[date | None] = mapped_column(Date, default=None)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        return {f"org:{get('distributor_id')}", f"org:{get('supplier_id')}"}


class RegionalQuota(Syncable, Base):
    """How much a distributor may buy of a SKU or a category in a region and period."""

    __tablename__ = "regional_quotas"
    __sync_entity__ = "quota"

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    supplier_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    distributor_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id"))
    product_id: Mapped[str | None] = mapped_column(ForeignKey("products.id"), default=None)
    category_id: Mapped[str | None] = mapped_column(ForeignKey("categories.id"), default=None)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    limit_qty: Mapped[int] = mapped_column(BigInteger)
    used_qty: Mapped[int] = mapped_column(BigInteger, default=0)  # a sum of orders

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        return {f"org:{get('distributor_id')}", f"org:{get('supplier_id')}"}
