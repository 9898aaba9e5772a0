"""The demo network: 2 suppliers, 6 distributors in 3 provinces, 300 terminals, 1,000 SKUs."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.catalog import Category, ChannelAuthorisation, PriceEntry, Product, RegionalQuota
from backend.db import utcnow
from backend.demo_network import DemoNetwork
from backend.forecasting import demo as forecasting_demo
from backend.identity import Actor, Organisation, Region, User
from backend.identity import service as identity
from backend.identity.passwords import hash_password
from backend.inspections import demo as inspections_demo
from backend.inventory import demo as inventory_demo
from backend.messaging import demo as messaging_demo
from backend.orders import demo as orders_demo
from backend.requests import demo as requests_demo
from backend.visits import demo as visits_demo

DEMO_PASSWORD = "fieldsync-demo"
SYSTEM = Actor(user_id="system", org_id="system", org_kind="service_provider", role="admin")
# Chinese names make the zh-CN demo look like a real network; codes (what tests and CLIs use) stay.
PROVINCES = [("north", "河北省"), ("central", "湖北省"), ("south", "广东省")]
CITIES = {"north": ["石家庄市", "保定市"], "central": ["武汉市", "宜昌市"], "south": ["广州市", "深圳市"]}
SUPPLIER_NAMES = {"A": "康源食品", "B": "丰泰日化"}
SHOP_CHAINS = ["美宜佳", "好邻居", "天天超市", "联华超市", "华润万家", "罗森"]
CATEGORIES = ["beverages", "snacks", "dairy", "household", "personal-care"]
CATEGORY_NAMES = {
    "beverages": "饮料",
    "snacks": "零食",
    "dairy": "乳品",
    "household": "家居清洁",
    "personal-care": "个人护理",
}
PRODUCT_NAMES = {
    "beverages": ["矿泉水 550ml", "绿茶 500ml", "橙汁 1L", "可乐 330ml"],
    "snacks": ["薯片 70g", "苏打饼干", "每日坚果", "黑巧克力"],
    "dairy": ["纯牛奶 250ml", "原味酸奶", "奶酪片", "豆奶 250ml"],
    "household": ["洗衣液 2kg", "抽纸 3层", "洗洁精 1kg", "垃圾袋"],
    "personal-care": ["洗发水 400ml", "牙膏 120g", "沐浴露", "香皂"],
}

Progress = Callable[[str], None]


@dataclass(slots=True)
class DemoLogin:
    username: str
    role: str
    organisation: str


async def is_seeded(session: AsyncSession) -> bool:
    return (
        await session.execute(select(Organisation.id).where(Organisation.code == "platform"))
    ).first() is not None


async def seed_demo(
    session: AsyncSession,
    *,
    terminals: int = 300,
    skus: int = 1000,
    activity: bool = True,
    progress: Progress = lambda _m: None,
) -> list[DemoLogin]:
    """Create the demo network in ``session`` (the caller commits). Deterministic.

    ``activity`` adds each domain's demo rows (orders, stock, inspections, chats) on top.
    """
    rng = random.Random(7)
    progress("regions")
    country = await identity.create_region(session, level="country", code="xx", name="Demo Country")
    provinces: list[Region] = []
    cities: list[Region] = []
    for code, name in PROVINCES:
        province = await identity.create_region(
            session, level="province", code=f"xx-{code}", name=name, parent_id=country.id
        )
        provinces.append(province)
        for n in range(2):
            cities.append(
                await identity.create_region(
                    session,
                    level="city",
                    code=f"xx-{code}-c{n}",
                    name=CITIES[code][n],
                    parent_id=province.id,
                )
            )
    progress("organisations")
    platform = await identity.create_organisation(
        session, kind="service_provider", name="fieldsync Support", code="platform", region_id=country.id
    )
    suppliers = [
        await identity.create_organisation(
            session,
            kind="supplier",
            name=SUPPLIER_NAMES[label],
            code=f"sup-{label.lower()}",
            region_id=country.id,
        )
        for label in ("A", "B")
    ]
    distributors: list[Organisation] = []
    for i, province in enumerate(provinces):
        for j in range(2):
            distributors.append(
                await identity.create_organisation(
                    session,
                    kind="distributor",
                    name=f"{province.name.removesuffix('省')}经销商 {j + 1}",
                    code=f"dist-{i}{j}",
                    region_id=province.id,
                )
            )
    progress(f"{terminals} terminals")
    for t in range(terminals):
        distributor = distributors[t % len(distributors)]
        province_index = distributors.index(distributor) // 2
        city = cities[province_index * 2 + rng.randrange(2)]
        session.add(
            Organisation(
                kind="terminal",
                name=f"{SHOP_CHAINS[t % len(SHOP_CHAINS)]} {t + 1:03d}号店",
                code=f"shop-{t + 1:03d}",
                region_id=city.id,
                parent_id=distributor.id,
            )
        )
    await session.flush()

    progress(f"{skus} products")
    products: list[Product] = []
    for s, supplier in enumerate(suppliers):
        cats = []
        for code in CATEGORIES:
            cat = Category(supplier_id=supplier.id, code=code, name=CATEGORY_NAMES[code])
            session.add(cat)
            cats.append(cat)
        await session.flush()
        for k in range(skus // len(suppliers)):
            cat = cats[k % len(cats)]
            product = Product(
                supplier_id=supplier.id,
                category_id=cat.id,
                sku=f"{'AB'[s]}-{k + 1:05d}",
                name=f"{PRODUCT_NAMES[cat.code][(k // len(cats)) % 4]} #{k + 1}",
                unit=rng.choice(["each", "case", "pack"]),
                pack_size=rng.choice([1, 6, 12, 24]),
            )
            session.add(product)
            products.append(product)
        await session.flush()
        progress(f"channel rules of {supplier.name}")
        period_start = date.today().replace(day=1)
        period_end = (period_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        for d_index, distributor in enumerate(distributors):
            # Each distributor sells three of the five categories in its own province.
            for cat in cats[d_index % 2 : d_index % 2 + 3]:
                session.add(
                    ChannelAuthorisation(
                        supplier_id=supplier.id,
                        distributor_id=distributor.id,
                        category_id=cat.id,
                        region_id=distributor.region_id,
                    )
                )
                session.add(
                    RegionalQuota(
                        supplier_id=supplier.id,
                        distributor_id=distributor.id,
                        region_id=distributor.region_id,
                        category_id=cat.id,
                        period_start=period_start,
                        period_end=period_end,
                        limit_qty=rng.choice([500, 1000, 2000]),
                    )
                )
    await session.flush()
    progress(f"prices ({len(products) * len(distributors)})")
    for distributor in distributors:
        for product in products:
            session.add(
                PriceEntry(
                    distributor_id=distributor.id,
                    product_id=product.id,
                    price_minor=rng.randrange(50, 5000),
                    currency="CNY",
                    updated_at=utcnow(),
                )
            )
        await session.flush()

    progress("users")
    logins = [
        ("admin", "admin", platform),
        ("support", "support_agent", platform),
        ("supplier-a", "supplier_staff", suppliers[0]),
        ("supplier-b", "supplier_staff", suppliers[1]),
        ("dist-north", "distributor_staff", distributors[0]),
        ("dist-south", "distributor_staff", distributors[4]),
        ("field-north", "field_staff", distributors[0]),
        ("inspector-north", "inspector", distributors[0]),
    ]
    out: list[DemoLogin] = []
    users: dict[str, User] = {}
    shared_hash = hash_password(DEMO_PASSWORD)
    for username, role, org in logins:
        users[username] = await identity.create_user(
            session,
            org_id=org.id,
            username=username,
            display_name=username.replace("-", " ").title(),
            role=role,
            password=DEMO_PASSWORD,
            password_hash=shared_hash,
        )
        out.append(DemoLogin(username, role, org.name))
    await session.flush()
    if activity:
        terminal_rows = (
            await session.execute(
                select(Organisation).where(Organisation.kind == "terminal").order_by(Organisation.code)
            )
        ).scalars()
        net = DemoNetwork(
            rng=rng,
            progress=progress,
            provinces=provinces,
            platform=platform,
            suppliers=suppliers,
            distributors=distributors,
            terminals=list(terminal_rows),
            products=products,
            users=users,
        )
        seeders = (
            orders_demo,
            inventory_demo,
            inspections_demo,
            messaging_demo,
            visits_demo,
            forecasting_demo,
            requests_demo,
        )
        for seeder in (m.seed for m in seeders):
            await seeder(session, net)
            await session.flush()
    return out
