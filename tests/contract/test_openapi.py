"""``/schema/openapi.json`` is a contract: errors, security, strict bodies, sync and tus typed."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from tests.factories import auth_headers

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


async def _document(client) -> dict:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()


async def test_the_document_is_valid_openapi_3_1_with_one_error_body_and_a_bearer_scheme(client):
    doc = await _document(client)
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The access token from `POST /auth/login` or `POST /auth/refresh`.",
    }
    error = doc["components"]["schemas"]["ErrorBody"]
    assert sorted(error["properties"]) == ["code", "details", "message"]
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if int(status) < 400 or method == "head":
                    continue
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
                assert "status_code" not in str(response), (method, path, status)


async def test_routes_declare_their_statuses_codes_and_security(client):
    doc = await _document(client)
    submit = doc["paths"]["/orders/{order_id}/submit"]["post"]
    assert submit["security"] == [{"bearer": []}]
    assert {"400", "401", "404", "409", "422", "429", "503"} <= set(submit["responses"])
    assert "`order_not_found`" in submit["responses"]["404"]["description"]
    assert "`quota_exceeded`" in submit["responses"]["409"]["description"]
    login = doc["paths"]["/auth/login"]["post"]
    assert "security" not in login
    assert "`invalid_credentials`" in login["responses"]["401"]["description"]
    assert doc["components"]["schemas"]["LoginIn"]["additionalProperties"] is False


async def test_sync_and_tus_routes_are_typed(client):
    doc = await _document(client)
    push = doc["paths"]["/sync/v1/push"]["post"]
    for media in ("application/json", "application/msgpack"):
        assert push["requestBody"]["content"][media]["schema"]["$ref"].endswith("/PushRequest")
        assert push["responses"]["200"]["content"][media]["schema"]["$ref"].endswith("/PushResponse")
    assert "`upgrade_required`" in push["responses"]["426"]["description"]
    pull = doc["paths"]["/sync/v1/pull"]["get"]
    assert pull["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/PullResponse")
    assert doc["components"]["schemas"]["PushRequest"]["additionalProperties"] is False
    create = doc["paths"]["/media/uploads"]["post"]
    headers = {p["name"] for p in create["parameters"] if p["in"] == "header"}
    assert {"Tus-Resumable", "Upload-Length", "Upload-Metadata"} <= headers
    assert "Location" in create["responses"]["201"]["headers"]
    patch = doc["paths"]["/media/uploads/{upload_id}"]["patch"]
    assert {"204", "409", "412", "415", "460"} <= set(patch["responses"])


async def test_an_unknown_query_parameter_is_refused_naming_the_known_ones(client, network):
    headers = await auth_headers(client, "dist-north")
    ok = await client.get("/orders", params={"state": "draft"}, headers=headers)
    assert ok.status_code == 200
    typo = await client.get("/orders", params={"staus": "draft"}, headers=headers)
    assert typo.status_code == 400
    body = typo.json()
    assert body["code"] == "invalid_request"
    assert body["details"]["unknown"] == ["staus"]
    assert "state" in body["details"]["known"] and "'staus'" in body["message"]
    none_taken = await client.get("/me", params={"verbose": "1"}, headers=headers)
    assert (none_taken.status_code, none_taken.json()["details"]["known"]) == (400, [])
    # A filter value outside its set is refused too, not answered with an empty page.
    bogus = await client.get("/admin/organisations", params={"kind": "suppliers"}, headers=headers)
    assert (bogus.status_code, bogus.json()["code"]) == (400, "invalid_request")
    agent = await auth_headers(client, "support")
    queue = await client.get("/support/queue", params={"status": "open"}, headers=agent)
    assert (queue.status_code, queue.json()["code"]) == (400, "invalid_request")
    waiting = await client.get("/support/queue", params={"status": "waiting"}, headers=agent)
    assert waiting.status_code == 200


def _listed(doc: dict, method: str, template: str, status: int) -> set[str]:
    response = doc["paths"][template][method]["responses"].get(str(status))
    assert response is not None, f"{method.upper()} {template} does not list {status}"
    return set(re.findall(r"`([a-z0-9_]+)`", response["description"]))


async def test_sampled_refusals_answer_codes_the_document_lists(client, network):
    """The codes listed per route and status are read from what the handler can reach
    (``mobile_api.openapi_codes``); a sample of real refusals, one per area, is among them.
    (schemathesis checks every refusal it provokes the same way: ``fuzz.documented_code``.)"""
    doc = await _document(client)
    north = await auth_headers(client, "dist-north")
    admin = await auth_headers(client, "admin")
    unknown = "0" * 32
    mutation = {"id": "m", "seq": 1, "name": "profile.update", "args": {"display_name": "x"}}
    region = {"level": "country", "code": "sampled", "name": "Sampled"}
    assert (await client.post("/admin/regions", json=region, headers=admin)).status_code == 201
    samples = [
        ({}, "post", "/auth/login", "/auth/login", {"json": {"username": "admin", "password": "wrong-pass"}}),
        (north, "post", f"/orders/{unknown}/submit", "/orders/{order_id}/submit", {}),
        (north, "get", "/sync/v1/pull", "/sync/v1/pull", {"params": {"protocol": 99}}),
        (north, "get", "/sync/v1/pull", "/sync/v1/pull", {"params": {"cursor": "abc.def"}}),
        (north, "post", "/sync/v1/push", "/sync/v1/push",
         {"json": {"client_id": "p", "protocol": 1, "mutations": [mutation] * 501}}),
        (north, "post", "/media/uploads", "/media/uploads", {}),
        (north, "put", "/support/me/status", "/support/me/status", {"json": {"status": "busy"}}),
        (admin, "post", "/admin/regions", "/admin/regions",
         {"json": region}),
        (north, "post", "/stock/checks", "/stock/checks",
         {"json": {"org_id": network.org("dist-00").id, "product_id": unknown, "counted_qty": 1,
                   "observed_at": "2026-11-01T09:00:00Z"}}),
        (north, "get", f"/conversations/{unknown}", "/conversations/{conversation_id}", {}),
    ]  # fmt: skip
    refusals = []
    for headers, method, url, template, kwargs in samples:
        response = await client.request(method, url, headers=headers, **kwargs)
        assert response.status_code >= 400, (method, url, response.text)
        code = response.json()["code"]
        refusals.append((method, template, response.status_code, code))
        assert code in _listed(doc, method, template, response.status_code), (method, template, code)
    assert len({code for *_, code in refusals}) >= 8, refusals
