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
