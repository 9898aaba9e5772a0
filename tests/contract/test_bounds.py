"""Every string and list a client sends is bounded: in the published contract (every request body
and every parameter of ``/schema/openapi.json``) and at the server, which refuses an over-long
value with ``400 invalid_request`` naming it, before it reaches the database (on PostgreSQL it
was a 400 only through the error handler's ``DataError`` backstop, on SQLite it was stored)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select

from backend.config import load_settings
from backend.inventory.models import StockCheck
from backend.messaging.models import Conversation
from backend.orders import Order
from mobile_api.app import create_app
from tests.factories import auth_headers

# Strings bounded by what they are rather than a length.
_FORMATS = {"date-time", "date"}


def _document(tmp_path: Path) -> dict[str, Any]:
    settings = load_settings(
        {},
        env="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
        var_dir=str(tmp_path / "var"),
        secret_key="test-secret-key-0123456789abcdef0123456789",
        run_worker_in_process=False,
    )
    response = TestClient(app=create_app(settings)).get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()


def _unbounded(
    schema: dict[str, Any], at: str, components: dict[str, Any], seen: set[str], inherited: dict[str, Any]
) -> Iterator[str]:
    """Where in ``schema`` a string has no ``maxLength`` or an array no ``maxItems`` (a bound
    beside ``anyOf``/``oneOf`` applies to each branch)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            seen.add(name)
            yield from _unbounded(components[name], name, components, seen, {})
        return
    schema = {**inherited, **schema}
    bounds = {k: schema[k] for k in ("maxLength", "maxItems") if k in schema}
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key, []):
            yield from _unbounded(branch, at, components, seen, bounds)
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    bounded = {"maxLength", "enum", "const"} & set(schema) or schema.get("format") in _FORMATS
    if "string" in types and not bounded:
        yield f"{at}: a string without maxLength"
    if "array" in types:
        if "maxItems" not in schema:
            yield f"{at}: an array without maxItems"
        yield from _unbounded(schema.get("items", {}), f"{at}[]", components, seen, {})
    for name, child in (schema.get("properties") or {}).items():
        yield from _unbounded(child, f"{at}.{name}", components, seen, {})
    for key in ("additionalProperties", "propertyNames"):
        if isinstance(schema.get(key), dict):
            yield from _unbounded(schema[key], f"{at}.<{key}>", components, seen, {})


def test_every_string_and_array_a_client_sends_has_a_bound(tmp_path: Path) -> None:
    doc = _document(tmp_path)
    components = doc["components"]["schemas"]
    found: list[str] = []
    bodies = parameters = 0
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            for media, content in (operation.get("requestBody") or {}).get("content", {}).items():
                bodies += 1
                at = f"{where} body ({media})"
                found += _unbounded(content.get("schema", {}), at, components, set(), {})
            for parameter in operation.get("parameters", []):
                parameters += 1
                at = f"{where} {parameter['in']} {parameter['name']}"
                found += _unbounded(parameter.get("schema", {}), at, components, set(), {})
    assert bodies > 50 and parameters > 200, (bodies, parameters)
    assert not found, "\n".join(sorted(set(found)))


def test_the_contract_keeps_the_bounds_inside_lists_and_dicts(tmp_path: Path) -> None:
    """A list's items and a dict's keys and values carry their own bounds (Litestar's own
    Struct schemas dropped them: ``member_ids: list[Id]`` was a list of any strings)."""
    schemas = _document(tmp_path)["components"]["schemas"]
    members = schemas["ConversationIn"]["properties"]["member_ids"]
    assert members["items"]["maxLength"] == 64 and members["maxItems"] == 200
    hours = schemas["TeamIn"]["properties"]["hours"]
    assert hours["propertyNames"] == {"maxLength": 1, "pattern": "^[0-6]$"} and hours["maxProperties"] == 7
    assert hours["additionalProperties"]["items"]["maxItems"] == 2
    assert schemas["PushRequest"]["properties"]["mutations"]["maxItems"] == 500  # sync_max_batch


# --- at the server, on both databases --------------------------------------------------------

LONG_ID = "x" * 65  # ids are varchar(64)


def _refused_naming(response: Any, name: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "invalid_request", body
    assert name in str(body["details"]) + body["message"], body


async def _count(session_factory: Any, model: Any) -> int:
    async with session_factory() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def test_an_over_long_value_is_refused_naming_it_and_not_stored(client, network, session_factory):
    north = await auth_headers(client, "dist-north")
    admin = await auth_headers(client, "admin")
    field = network.user("field-north")
    writes = [
        # a top-level body field, an item of a body list, a path parameter
        (
            StockCheck,
            "post",
            "/stock/checks",
            north,
            "device_id",
            {
                "org_id": network.org("dist-00").id,
                "product_id": network.products["A-00001"].id,
                "counted_qty": 3,
                "observed_at": "2026-11-01T09:00:00Z",
                "device_id": "d" * 65,
            },
        ),
        (
            Conversation,
            "post",
            "/conversations",
            north,
            "member_ids",
            {
                "kind": "group",
                "title": "bounded",
                "member_ids": [field.id, LONG_ID],
            },
        ),
        (Order, "post", "/orders", north, "supplier_id", {"kind": "purchase", "supplier_id": LONG_ID}),
        (None, "put", f"/support/agents/{LONG_ID}", admin, "user_id", {"team_id": None}),
    ]
    for model, method, path, headers, name, body in writes:
        before = await _count(session_factory, model) if model else 0
        response = await client.request(method, path, json=body, headers=headers)
        _refused_naming(response, name)
        if model is not None:
            assert await _count(session_factory, model) == before, path
    too_long = await client.get("/orders", params={"supplier_id": LONG_ID}, headers=north)
    _refused_naming(too_long, "supplier_id")
    same_length_ok = await client.get("/orders", params={"supplier_id": "x" * 64}, headers=north)
    assert same_length_ok.status_code == 200, same_length_ok.text


@pytest.mark.parametrize(
    ("username", "path", "name", "bad", "good"),
    [
        ("dist-north", "/stock/checks", "since", "0001-01-01T00:00:00+01:00", "2026-11-01T00:00:00Z"),
        ("dist-north", "/stock/checks", "since", "9999-12-31T23:59:59-01:00", "2026-11-01T00:00:00Z"),
        ("dist-north", "/visits", "date_from", "1899-12-31", "2026-11-01"),
        ("supplier-a", "/workbench/supplier", "period_start", "3000-01-01", "2026-11-01"),
    ],
)
async def test_a_date_or_time_parameter_is_held_to_the_years_of_a_body(
    client, network, username, path, name, bad, good
):
    """Refused at the query string's boundary, naming the parameter: not by the error handler's
    out-of-range backstop (``a value in the request is out of range``), which took these before."""
    headers = await auth_headers(client, username)
    response = await client.get(path, params={name: bad}, headers=headers)
    _refused_naming(response, name)
    assert "1900" in response.json()["message"]
    ok = await client.get(path, params={name: good}, headers=headers)
    assert ok.status_code == 200, ok.text
