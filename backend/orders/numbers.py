"""Numbers people can read aloud on the phone: ``PO-2026-000123`` (purchase orders),
``SO-…`` (sales orders), ``DN-…`` (deliveries), given when the row is created.

PostgreSQL takes the next value of a sequence per prefix (no row lock, so concurrent orders
never queue on a counter; a rolled-back order leaves a gap). SQLite has one writer at a time,
so the next number is the largest one of the prefix plus one (the unique index answers it).
The counter runs on across years; the year in the number is the year of creation.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

PREFIXES = {"purchase": "PO", "sales": "SO", "delivery": "DN"}
#: PostgreSQL sequences, created by migration 0007_console.
SEQUENCES = {"PO": "number_seq_po", "SO": "number_seq_so", "DN": "number_seq_dn"}
DIGITS = 6


def format_number(prefix: str, year: int, n: int) -> str:
    return f"{prefix}-{year}-{n:0{DIGITS}d}"


async def next_number(session: AsyncSession, kind: str, model: type, at: datetime) -> str:
    """The next number for ``kind`` (``purchase``, ``sales`` or ``delivery``) in ``model``'s table."""
    prefix = PREFIXES[kind]
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        n = int(await session.scalar(text(f"SELECT nextval('{SEQUENCES[prefix]}')")))  # noqa: S608
        return format_number(prefix, at.year, n)
    largest = await session.scalar(
        select(func.max(model.number)).where(model.number.like(f"{prefix}-%"))  # type: ignore[attr-defined]
    )
    n = 0
    if largest:
        n = int(str(largest).rsplit("-", 1)[1])
    return format_number(prefix, at.year, n + 1)
