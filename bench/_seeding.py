"""Fast seeding for benchmarks: Core bulk inserts plus ``record_changes``, and raw change-log padding.

Rows that phones pull are written as real rows with their change-log entries (so a pull
sees what it would see in production); padding that only has to make the change log big
goes straight into ``change_log`` through the driver.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.catalog import Category, PriceEntry, Product
from backend.changefeed import UPSERT, Change, ChangeLog, record_changes, to_json
from backend.db import make_session_factory, new_id, utcnow
from backend.identity import Organisation, User


@dataclass
class DemoHandles:
    """Ids from the seeded demo network that benchmarks address."""

    suppliers: list[str]
    distributors: list[str]
    terminals_by_distributor: dict[str, list[str]]
    users: dict[str, User]


async def demo_handles(engine: AsyncEngine) -> DemoHandles:
    async with make_session_factory(engine)() as session:
        orgs = list((await session.execute(select(Organisation).order_by(Organisation.code))).scalars())
        users = {u.username: u for u in (await session.execute(select(User))).scalars()}
    terminals: dict[str, list[str]] = {}
    for org in orgs:
        if org.kind == "terminal" and org.parent_id:
            terminals.setdefault(org.parent_id, []).append(org.id)
    return DemoHandles(
        suppliers=[o.id for o in orgs if o.kind == "supplier"],
        distributors=[o.id for o in orgs if o.kind == "distributor"],
        terminals_by_distributor=terminals,
        users=users,
    )


def _data(row: dict[str, Any]) -> dict[str, Any]:
    return {k: to_json(v) for k, v in row.items()}


async def add_priced_products(
    session: AsyncSession, *, distributor_id: str, suppliers: list[str], count: int, chunk: int = 5000
) -> int:
    """``count`` more products (spread over ``suppliers``) each with a price for ``distributor_id``.

    Returns the number of change-log rows written (2 per product: catalog + price).
    """
    cats: dict[str, list[str]] = {}
    for cat in (await session.execute(select(Category))).scalars():
        cats.setdefault(cat.supplier_id, []).append(cat.id)
    rng = random.Random(11)
    written = 0
    for start in range(0, count, chunk):
        products: list[dict[str, Any]] = []
        prices: list[dict[str, Any]] = []
        now = utcnow()
        for n in range(start, min(count, start + chunk)):
            supplier = suppliers[n % len(suppliers)]
            product = {
                "id": new_id(),
                "supplier_id": supplier,
                "category_id": rng.choice(cats[supplier]),
                "sku": f"BENCH-{n:07d}",
                "name": f"Bench item {n}",
                "unit": "each",
                "pack_size": rng.choice([1, 6, 12]),
                "active": True,
                "version": 1,
            }
            products.append(product)
            prices.append(
                {
                    "id": new_id(),
                    "distributor_id": distributor_id,
                    "product_id": product["id"],
                    "price_minor": rng.randrange(50, 5000),
                    "currency": "EUR",
                    "updated_at": now,
                    "version": 1,
                }
            )
        await session.execute(insert(Product), products)
        await session.execute(insert(PriceEntry), prices)
        changes = [
            Change(f"catalog:{p['supplier_id']}", "product", p["id"], UPSERT, 1, _data(p)) for p in products
        ] + [Change(f"org:{distributor_id}", "price", p["id"], UPSERT, 1, _data(p)) for p in prices]
        await record_changes(session, changes)
        written += len(changes)
    return written


async def change_log_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(ChangeLog))).scalar_one())


async def pad_change_log(engine: AsyncEngine, *, upto: int, scopes: list[str], chunk: int = 50_000) -> float:
    """Append synthetic changes in ``scopes`` until the change log holds ``upto`` rows.

    Goes through the driver (COPY on PostgreSQL, executemany on SQLite): it only makes the
    table big, as a year of other organisations' activity would. Returns the seconds taken.
    """
    started = time.perf_counter()
    have = await change_log_rows(engine)
    rng = random.Random(have)
    is_pg = engine.dialect.name == "postgresql"
    while have < upto:
        n = min(chunk, upto - have)
        now = utcnow()
        async with engine.begin() as conn:
            tx = 0
            if is_pg:
                tx = int((await conn.execute(text("SELECT pg_current_xact_id()::text::bigint"))).scalar_one())
            rows = []
            for _ in range(n):
                entity_id = new_id()
                rows.append(
                    (
                        tx,
                        rng.choice(scopes),
                        "stock_count",
                        entity_id,
                        UPSERT,
                        1,
                        {"id": entity_id, "qty": rng.randrange(0, 500)},
                        now,
                    )
                )
            columns = ["tx", "scope", "entity", "entity_id", "op", "version", "data", "changed_at"]
            raw = await conn.get_raw_connection()
            if is_pg:
                # SQLAlchemy's asyncpg codec for jsonb takes the JSON text.
                records = [(*r[:6], json.dumps(r[6]), r[7]) for r in rows]
                await raw.driver_connection.copy_records_to_table(
                    "change_log", records=records, columns=columns
                )
            else:
                stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
                cursor = await raw.driver_connection.cursor()
                await cursor.executemany(
                    f"INSERT INTO change_log ({', '.join(columns)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(*r[:6], json.dumps(r[6]), stamp) for r in rows],
                )
        have += n
    return time.perf_counter() - started


async def users_with_devices(
    session: AsyncSession, count: int, prefix: str, *, org_code: str = "dist-00", push_tokens: bool = False
) -> list[tuple[User, Any]]:
    """``count`` field-staff users of ``org_code`` (usernames ``{prefix}-{i}``, no usable password)
    with one device each (client id ``{prefix}-{i}``, an FCM token ``token-{prefix}-{i}`` when
    ``push_tokens``); flushed, not committed."""
    from backend.identity import Device

    org = (await session.execute(select(Organisation).where(Organisation.code == org_code))).scalar_one()
    users = [
        User(
            org_id=org.id,
            username=f"{prefix}-{i}",
            display_name=f"{prefix} {i}",
            role="field_staff",
            password_hash="x",
        )
        for i in range(count)
    ]
    session.add_all(users)
    await session.flush()
    devices = [
        Device(
            user_id=u.id,
            client_id=f"{prefix}-{i}",
            platform="android",
            push_token=f"token-{prefix}-{i}" if push_tokens else None,
        )
        for i, u in enumerate(users)
    ]
    session.add_all(devices)
    await session.flush()
    return list(zip(users, devices, strict=True))
