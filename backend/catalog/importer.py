"""CSV import of a supplier's catalog: all rows or none, with a per-row error report."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.catalog.errors import ImportRejected
from backend.catalog.models import Category, Product
from backend.catalog.service import require_supplier_admin
from backend.identity import Actor, Organisation
from backend.identity.errors import OrgNotFound

REQUIRED = ("sku", "name", "category_code")
OPTIONAL = ("category_name", "unit", "pack_size")
UNITS = {"each", "case", "kg", "l", "box", "pack"}
MAX_ROWS = 50_000
MAX_PACK_SIZE = 100_000
MAX_LENGTHS = {"sku": 64, "name": 200, "category_code": 40, "category_name": 200}  # the column sizes


class RowError(msgspec.Struct):
    row: int
    column: str
    message: str


@dataclass(slots=True)
class ImportReport:
    created: int
    updated: int
    categories_created: int


def _parse(text: str) -> tuple[list[dict[str, str]], list[RowError]]:
    reader = csv.DictReader(io.StringIO(text))
    try:
        return _check_rows(reader)
    except csv.Error as exc:
        return [], [RowError(row=reader.line_num, column="", message=f"not readable as CSV: {exc}")]


def _check_rows(reader: csv.DictReader[str]) -> tuple[list[dict[str, str]], list[RowError]]:
    header = [h.strip() for h in (reader.fieldnames or [])]
    errors: list[RowError] = []
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    for c in missing:
        errors.append(RowError(row=1, column=c, message="required column is missing from the header"))
    for c in unknown:
        errors.append(RowError(row=1, column=c, message="unknown column"))
    if errors:
        return [], errors
    rows: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            errors.append(RowError(row=number, column="", message=f"more than {MAX_ROWS} rows"))
            break
        if None in raw:
            errors.append(RowError(row=number, column="", message="more fields than the header has"))
            continue
        row = {k.strip(): (v or "").strip() for k, v in raw.items()}
        for c in REQUIRED:
            if not row.get(c):
                errors.append(RowError(row=number, column=c, message="must not be empty"))
        unit = row.get("unit") or "each"
        if unit not in UNITS:
            errors.append(
                RowError(row=number, column="unit", message=f"must be one of {', '.join(sorted(UNITS))}")
            )
        pack = row.get("pack_size") or "1"
        if not (pack.isascii() and pack.isdigit()) or not 1 <= int(pack) <= MAX_PACK_SIZE:
            errors.append(
                RowError(row=number, column="pack_size", message=f"must be a whole number 1–{MAX_PACK_SIZE}")
            )
        sku = row.get("sku", "")
        if sku in seen:
            errors.append(RowError(row=number, column="sku", message=f"duplicate of row {seen[sku]}"))
        elif sku:
            seen[sku] = number
        for column, longest in MAX_LENGTHS.items():
            if len(row.get(column, "")) > longest:
                errors.append(
                    RowError(row=number, column=column, message=f"longer than {longest} characters")
                )
        rows.append(row)
    if not rows and not errors:
        errors.append(RowError(row=1, column="", message="the file has no data rows"))
    return rows, errors


async def import_catalog_csv(
    session: AsyncSession, actor: Actor, *, supplier_id: str, text: str
) -> ImportReport:
    """Create or update the supplier's products from CSV; any bad row rejects the whole file."""
    require_supplier_admin(actor, supplier_id)
    supplier = await session.get(Organisation, supplier_id)
    if supplier is None or supplier.kind != "supplier":
        raise OrgNotFound(f"supplier {supplier_id} does not exist")
    rows, errors = _parse(text)
    if errors:
        raise ImportRejected(
            f"{len(errors)} problem(s) in the file; nothing was imported",
            details=[msgspec.to_builtins(e) for e in errors[:500]],
        )
    categories = {
        c.code: c
        for c in (
            await session.execute(select(Category).where(Category.supplier_id == supplier_id))
        ).scalars()
    }
    products = {
        p.sku: p
        for p in (await session.execute(select(Product).where(Product.supplier_id == supplier_id))).scalars()
    }
    created = updated = cats = 0
    for row in rows:
        category = categories.get(row["category_code"])
        if category is None:
            category = Category(
                supplier_id=supplier_id,
                code=row["category_code"],
                name=row.get("category_name") or row["category_code"],
            )
            session.add(category)
            await session.flush()
            categories[category.code] = category
            cats += 1
        product = products.get(row["sku"])
        if product is None:
            product = Product(supplier_id=supplier_id, sku=row["sku"])
            session.add(product)
            created += 1
        else:
            updated += 1
        product.name = row["name"]
        product.category_id = category.id
        product.unit = row.get("unit") or "each"
        product.pack_size = int(row.get("pack_size") or 1)
    await session.flush()
    return ImportReport(created=created, updated=updated, categories_created=cats)
