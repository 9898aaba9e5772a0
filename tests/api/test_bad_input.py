"""Bad input on every admin endpoint family: a 4xx with the one error shape, never a 500."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest

from tests.factories import auth_headers

MAX_BODY = 16_384


@pytest.fixture
def settings(settings):
    """The usual test settings with small body limits, so 'too large' is cheap to send."""
    return msgspec.structs.replace(settings, max_body_bytes=MAX_BODY, max_import_bytes=MAX_BODY)


@dataclass(frozen=True)
class Family:
    name: str
    method: str
    path: str
    body: dict[str, Any]  # well-formed (its ids need not exist)
    wrong_types: dict[str, Any]  # fields replaced by values of the wrong type or out of range


FAMILIES = [
    Family("login", "post", "/auth/login", {"username": "u", "password": "p"}, {"username": 5}),
    Family("refresh", "post", "/auth/refresh", {"refresh_token": "x"}, {"refresh_token": ["x"]}),
    Family(
        "regions",
        "post",
        "/admin/regions",
        {"level": "city", "code": "c1", "name": "City"},
        {"level": "galaxy", "code": "has spaces"},
    ),
    Family(
        "organisations",
        "post",
        "/admin/organisations",
        {"kind": "terminal", "name": "Shop", "code": "shop-x"},
        {"kind": "castle", "name": ""},
    ),
    Family(
        "users",
        "post",
        "/admin/users",
        {"org_id": "x", "username": "u", "display_name": "U", "role": "inspector", "password": "12345678"},
        {"role": "emperor", "password": 12345678},
    ),
    Family("user patch", "patch", "/admin/users/{user}", {"display_name": "New"}, {"display_name": {"a": 1}}),
    Family(
        "categories",
        "post",
        "/admin/categories",
        {"supplier_id": "s", "code": "c", "name": "C"},
        {"name": None},
    ),
    Family(
        "products",
        "post",
        "/admin/products",
        {"supplier_id": "s", "category_id": "c", "sku": "S-1", "name": "P"},
        {"pack_size": "six", "unit": "barrel"},
    ),
    Family(
        "prices",
        "post",
        "/admin/prices",
        {"distributor_id": "d", "product_id": "p", "price_minor": 100},
        {"price_minor": 2**40, "currency": "EURO"},
    ),
    Family(
        "authorisations",
        "post",
        "/admin/authorisations",
        {"supplier_id": "s", "distributor_id": "d", "category_id": "c", "region_id": "r"},
        {"valid_from": "2024-13-45"},
    ),
    Family(
        "quotas",
        "post",
        "/admin/quotas",
        {
            "supplier_id": "s",
            "distributor_id": "d",
            "region_id": "r",
            "period_start": "2026-01-01",
            "period_end": "2026-01-31",
            "limit_qty": 10,
            "category_id": "c",
        },
        {"limit_qty": -1, "period_end": 20260131},
    ),
]


def assert_refused(response, status: int | None = None) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    if status is not None:
        assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "details"} and body["code"] and body["message"], body
    return body


@pytest.mark.parametrize("family", FAMILIES, ids=[f.name for f in FAMILIES])
async def test_bad_bodies_are_refused_with_the_error_shape(client, network, family):
    headers = await auth_headers(client, "admin")
    path = family.path.format(user=network.user("dist-north").id)
    send = getattr(client, family.method)

    async def attempt(content: bytes, content_type: str = "application/json"):
        return await send(path, headers={**headers, "Content-Type": content_type}, content=content)

    assert_refused(await attempt(b'{"username": "admin", '), 400)
    assert_refused(await attempt(b"[1, 2, 3]"), 400)
    assert_refused(await attempt(b"\xff\xfe not json"), 400)
    wrong = assert_refused(await attempt(json.dumps({**family.body, **family.wrong_types}).encode()), 400)
    assert wrong["code"] == "invalid_request"
    unknown = assert_refused(await attempt(json.dumps({**family.body, "is_admin": True}).encode()), 400)
    assert "is_admin" in unknown["message"]
    padded = {**family.body, "name": "x" * MAX_BODY}
    too_large = assert_refused(await attempt(json.dumps(padded).encode()), 413)
    assert too_large["code"] == "body_too_large"


async def test_bad_query_parameters_are_refused(client, network):
    headers = await auth_headers(client, "admin")
    for params in ({"limit": "many"}, {"limit": 0}, {"limit": 501}, {"cursor": "c" * 65}):
        assert_refused(await client.get("/admin/users", headers=headers, params=params), 400)
    assert_refused(await client.get("/admin/products", headers=headers, params={"limit": "1e9"}), 400)


async def test_bad_catalog_files_are_refused(client, network):
    headers = await auth_headers(client, "supplier-a")
    path = f"/admin/catalog/import?supplier_id={network.org('sup-a').id}"

    async def attempt(content: bytes, content_type: str = "text/csv"):
        return await client.post(path, headers={**headers, "Content-Type": content_type}, content=content)

    assert assert_refused(await attempt(b"sku,name\n", "application/json"), 415)["code"] == (
        "unsupported_media_type"
    )
    assert assert_refused(await attempt(b"sku,name,category_code\n\xff\xfe,x,y\n"), 400)["code"] == (
        "invalid_encoding"
    )
    assert assert_refused(await attempt(b"sku,name,category_code,colour\nS,N,c,red\n"), 422)["details"] == [
        {"row": 1, "column": "colour", "message": "unknown column"}
    ]
    assert assert_refused(await attempt(b"sku,name,category_code\n"), 422)["code"] == "import_rejected"
    too_large = b"sku,name,category_code\n" + b"S,N,c\n" * (MAX_BODY // 6 + 1)
    assert assert_refused(await attempt(too_large), 413)["code"] == "body_too_large"
    missing_supplier = await client.post("/admin/catalog/import", headers=headers, content=b"")
    assert_refused(missing_supplier, 400)


# --- issue 12, class 2: one input boundary (backend/bounds.py, mobile_api/boundary.py) ----------

DEEP = 2_000  # past the interpreter's recursion limit: this was a RecursionError (500)


async def test_deeply_nested_bodies_are_a_400_everywhere(client, network):
    """JSON and MessagePack nested past the bound, in any body (login included, no sign-in)."""
    deep_json = b"[" * DEEP + b"]" * DEEP
    deep_msgpack = b"\x91" * DEEP + b"\x90"
    login = await client.post("/auth/login", content=deep_json, headers={"Content-Type": "application/json"})
    assert assert_refused(login, 400)["code"] == "invalid_request"
    nested = b'{"username": "u", "password": ' + b"[" * 40 + b"]" * 40 + b"}"  # under the recursion limit
    login = await client.post("/auth/login", content=nested, headers={"Content-Type": "application/json"})
    assert assert_refused(login, 400)["code"] == "invalid_request"
    headers = await auth_headers(client, "field-north")
    for body, kind in ((deep_json, "application/json"), (deep_msgpack, "application/msgpack")):
        r = await client.post("/sync/v1/push", content=body, headers={**headers, "Content-Type": kind})
        assert assert_refused(r, 400)["code"] == "invalid_request"
    admin = await auth_headers(client, "admin")
    r = await client.post(
        "/admin/regions", content=deep_json, headers={**admin, "Content-Type": "application/json"}
    )
    assert assert_refused(r, 400)["code"] == "invalid_request"


def _push_body(mutations, client_id="edge-phone"):
    return {"client_id": client_id, "protocol": 1, "mutations": mutations}


async def test_nul_in_any_text_is_refused(client, network):
    """U+0000 anywhere: PostgreSQL refused it mid-statement (500), SQLite stored it silently."""
    login = await client.post("/auth/login", json={"username": "dist-north\x00", "password": "x" * 8})
    assert assert_refused(login, 400)["code"] == "invalid_request"
    headers = await auth_headers(client, "field-north")
    ok = {"id": "m1", "seq": 1, "name": "profile.update", "args": {"display_name": "fine"}}
    for envelope in (
        _push_body([{**ok, "id": "m\x001"}]),
        _push_body([ok], client_id="phone\x00"),
        _push_body([{**ok, "client_time": "2026-01-01\x00"}]),
    ):
        r = await client.post("/sync/v1/push", json=envelope, headers=headers)
        assert assert_refused(r, 400)["code"] == "invalid_request"
    bad_args = {**ok, "args": {"display_name": "evil\x00name"}}
    reply = (await client.post("/sync/v1/push", json=_push_body([bad_args]), headers=headers)).json()
    assert (reply["results"][0]["status"], reply["results"][0]["code"]) == ("rejected", "invalid")
    admin = await auth_headers(client, "admin")
    for path in ("/orders/abc%00def", "/admin/users?cursor=a%00b", "/admin/users?role=x%00"):
        assert assert_refused(await client.get(path, headers=admin), 400)["code"] == "invalid_request"
    r = await client.post(
        "/admin/regions", json={"level": "city", "code": "c-nul", "name": "Ci\x00ty"}, headers=admin
    )
    assert assert_refused(r, 400)["code"] == "invalid_request"
    tus = {**headers, "Tus-Resumable": "1.0.0", "Upload-Length": "10"}
    meta = "filename " + __import__("base64").b64encode(b"a\x00.jpg").decode()
    r = await client.post("/media/uploads", headers={**tus, "Upload-Metadata": meta})
    assert 400 <= r.status_code < 500, r.text


async def test_numbers_and_times_out_of_range_are_refused(client, network):
    """Integers past int64 in query parameters, datetimes at the ends of the calendar, and
    non-ASCII digits in numeric headers ("²".isdigit() is true, int("²") fails)."""
    headers = await auth_headers(client, "dist-north")
    huge = str(2**64)
    for path, params in (
        ("/stock/levels", {"below": huge}),
        ("/stock/checks", {"since": "0001-01-01T00:00:00+01:00"}),
        ("/stock/checks", {"since": "9999-12-31T23:59:59-01:00"}),
        ("/sync/v1/pull", {"limit": huge}),
        ("/sync/v1/pull", {"protocol": huge}),
    ):
        r = await client.get(path, params=params, headers=headers)
        assert assert_refused(r, 400)["code"] == "invalid_request", (path, params)
    phone = await auth_headers(client, "field-north")
    for seq, observed_at in enumerate(("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"), 1):
        check = {
            "id": None,
            "seq": seq,
            "name": "stock_check.record",
            "args": {
                "id": "0" * 32,
                "org_id": network.org("shop-n1").id if "shop-n1" in network.orgs else "x" * 32,
                "product_id": "p" * 32,
                "counted_qty": 1,
                "observed_at": observed_at,
            },
        }
        check["id"] = f"time-{observed_at[:4]}"
        reply = (
            await client.post("/sync/v1/push", json=_push_body([check], "time-phone"), headers=phone)
        ).json()
        assert reply["results"][0]["code"] == "invalid", reply
    tus = {**phone, "Tus-Resumable": "1.0.0"}
    r = await client.post("/media/uploads", headers={**tus, "Upload-Length": "1²".encode("latin-1")})
    assert 400 <= r.status_code < 500, r.text


async def test_money_and_stock_value_are_64_bit_end_to_end(client, network, session_factory):
    """A legal count (up to 10⁹) at a legal price (up to 2³¹−1) made the distributor's stock
    value overflow a 32-bit column on PostgreSQL: the workbench answered 500 until a newer count
    replaced it. Order totals (price × quantity) likewise."""
    from sqlalchemy import update

    from backend.catalog import PriceEntry

    warehouse = network.org("dist-00").id
    product = network.products["A-00001"]
    price = 2**31 - 1
    async with session_factory() as session:
        await session.execute(
            update(PriceEntry)
            .where(PriceEntry.distributor_id == warehouse, PriceEntry.product_id == product.id)
            .values(price_minor=price)
        )
        await session.commit()
    north = await auth_headers(client, "dist-north")
    before = (await client.get("/workbench/distributor", headers=north)).json()["stock"]["value_minor"]
    check = {
        "org_id": warehouse,
        "product_id": product.id,
        "counted_qty": 1_000_000_000,
        "observed_at": "2026-11-01T09:00:00Z",
    }
    assert (await client.post("/stock/checks", json=check, headers=north)).status_code == 201
    figures = await client.get("/workbench/distributor", headers=north)
    assert figures.status_code == 200, figures.text
    assert figures.json()["stock"]["value_minor"] >= 1_000_000_000 * price > before
