"""Operator endpoints and the OpenAPI document."""

from __future__ import annotations


async def test_live_ready_metrics_and_schema(client, network):
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "migrations": "current"}
    metrics = await client.get("/metrics")
    assert "fieldsync_http_requests_total" in metrics.text
    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 200 and "/auth/login" in schema.json()["paths"]
    assert (await client.get("/schema/swagger")).status_code == 200


async def test_request_id_is_echoed_or_minted(client, network):
    r = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    assert len((await client.get("/health/live")).headers["x-request-id"]) == 16


async def test_unknown_route_has_the_error_shape(client, network):
    r = await client.get("/nope")
    assert r.status_code == 404 and set(r.json()) == {"code", "message", "details"}
