"""``GET /sync/v1/schema`` describes exactly what push accepts and pull delivers."""

from __future__ import annotations

from typing import Any

import jsonschema
import msgspec

from backend.changefeed.rows import entity_structs
from sync import protocol as p
from tests.factories import auth_headers, build_network

# Between them these demo users are entitled to every scope the demo's activity writes to.
PULLERS = ["admin", "support", "supplier-a", "dist-north", "field-north", "inspector-north"]


async def _pull_all(client: Any, headers: dict[str, str]) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": 5000, "protocol": p.PROTOCOL_VERSION}
        if cursor:
            params["cursor"] = cursor
        page = await client.get("/sync/v1/pull", params=params, headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        changes.extend(body["changes"])
        cursor = body["cursor"]
        if not body["has_more"]:
            return changes
    raise AssertionError("pull never finished")


async def test_every_pulled_row_matches_its_entitys_published_schema(client, session_factory):
    async with session_factory() as session:
        await build_network(session, activity=True)
        await session.commit()
    schema = (await client.get("/sync/v1/schema")).json()
    entities = schema["entities"]
    validators = {
        name: jsonschema.Draft202012Validator(
            {**ref, "$defs": schema["$defs"]}, format_checker=jsonschema.FormatChecker()
        )
        for name, ref in entities.items()
    }
    seen: dict[str, int] = {}
    for username in PULLERS:
        for change in await _pull_all(client, await auth_headers(client, username)):
            assert change["entity"] in validators, f"pull delivered {change['entity']}, not in the schema"
            if change["op"] == "delete":
                continue
            errors = sorted(validators[change["entity"]].iter_errors(change["data"]), key=str)
            assert not errors, f"{change['entity']} {change['id']}: {errors[0].message}"
            seen[change["entity"]] = seen.get(change["entity"], 0) + 1
    # Every published entity was delivered (and checked) at least once.
    assert sorted(seen) == sorted(entities)


async def test_the_schema_names_its_protocols_and_a_newer_protocol_is_refused(client, network):
    schema = (await client.get("/sync/v1/schema")).json()
    assert schema["protocols"] == list(range(schema["min_protocol"], schema["protocol"] + 1))
    assert p.PROTOCOL_VERSION in schema["protocols"]
    headers = await auth_headers(client, "field-north")
    newer = max(schema["protocols"]) + 1
    push = await client.post(
        "/sync/v1/push", json={"client_id": "c1", "protocol": newer, "mutations": []}, headers=headers
    )
    assert push.status_code == 400
    assert push.json()["code"] == "protocol_unsupported"
    assert push.json()["details"]["max_protocol"] == max(schema["protocols"])
    pull = await client.get("/sync/v1/pull", params={"protocol": newer}, headers=headers)
    assert (pull.status_code, pull.json()["code"]) == (400, "protocol_unsupported")
    older = await client.get("/sync/v1/pull", params={"protocol": 0}, headers=headers)
    assert (older.status_code, older.json()["code"]) == (426, "upgrade_required")
    ok = await client.get("/sync/v1/pull", params={"protocol": p.PROTOCOL_VERSION}, headers=headers)
    assert ok.status_code == 200


def test_a_row_struct_publishes_only_what_is_delivered_and_refuses_the_rest():
    user = msgspec.json.schema(entity_structs()["user"])["$defs"]["UserRow"]
    assert "password_hash" not in user["properties"]
    assert user["additionalProperties"] is False
    assert set(user["required"]) == set(user["properties"])
