"""CSV import of a supplier's catalog: all rows or none, with a report per bad row."""

from __future__ import annotations

from sqlalchemy import func, select

from backend.catalog import Category, Product
from tests.factories import auth_headers

GOOD = (
    "sku,name,category_code,category_name,unit,pack_size\n"
    "A-00001,Renamed cola,beverages,,case,12\n"
    "A-90001,New tea,tea,Tea,each,1\n"
    "A-90002,New herbal tea,tea,,pack,\n"
)


async def _import(client, headers, supplier_id: str, text: str):
    return await client.post(
        "/admin/catalog/import",
        params={"supplier_id": supplier_id},
        headers={**headers, "Content-Type": "text/csv"},
        content=text.encode(),
    )


async def _counts(session_factory, supplier_id: str) -> tuple[int, int]:
    async with session_factory() as session:
        products = await session.scalar(select(func.count()).where(Product.supplier_id == supplier_id))
        categories = await session.scalar(select(func.count()).where(Category.supplier_id == supplier_id))
    return products, categories


async def test_a_good_file_creates_and_updates(client, network, session_factory):
    supplier = network.org("sup-a")
    before = await _counts(session_factory, supplier.id)
    r = await _import(client, await auth_headers(client, "supplier-a"), supplier.id, GOOD)
    assert r.status_code == 201, r.text
    assert r.json() == {"created": 2, "updated": 1, "categories_created": 1}
    assert await _counts(session_factory, supplier.id) == (before[0] + 2, before[1] + 1)
    async with session_factory() as session:
        cola = (await session.execute(select(Product).where(Product.sku == "A-00001"))).scalar_one()
        assert (cola.name, cola.unit, cola.pack_size) == ("Renamed cola", "case", 12)


async def test_any_bad_row_imports_nothing_and_reports_every_problem(client, network, session_factory):
    supplier = network.org("sup-a")
    before = await _counts(session_factory, supplier.id)
    text = (
        "sku,name,category_code,unit,pack_size\n"
        "A-90001,Fine row,tea,each,1\n"
        ",No sku,tea,each,1\n"
        "A-90003,Bad unit,tea,barrel,1\n"
        "A-90004,Bad pack,tea,each,zero\n"
        "A-90001,Duplicate,tea,each,1\n"
        f"A-90006,{'n' * 201},tea,each,1\n"
        "A-90007,Too many,tea,each,1,extra\n"
        "A-90008,Huge pack,tea,each,999999999999\n"
    )
    r = await _import(client, await auth_headers(client, "admin"), supplier.id, text)
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "import_rejected" and "nothing was imported" in body["message"]
    assert [(d["row"], d["column"]) for d in body["details"]] == [
        (3, "sku"),
        (4, "unit"),
        (5, "pack_size"),
        (6, "sku"),
        (7, "name"),
        (8, ""),
        (9, "pack_size"),
    ]
    assert body["details"][3]["message"] == "duplicate of row 2"
    assert all(d["message"] for d in body["details"])
    assert await _counts(session_factory, supplier.id) == before


async def test_only_the_supplier_or_an_admin_may_import(client, network, session_factory):
    supplier = network.org("sup-a")
    for username, status in (("supplier-b", 404), ("dist-north", 403)):  # another supplier's: missing
        r = await _import(client, await auth_headers(client, username), supplier.id, GOOD)
        assert r.status_code == status, username
    unknown = await _import(client, await auth_headers(client, "admin"), network.org("dist-00").id, GOOD)
    assert unknown.status_code == 404 and unknown.json()["code"] == "organisation_not_found"
