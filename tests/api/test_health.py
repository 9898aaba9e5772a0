"""Operator endpoints and the OpenAPI document."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import msgspec
import pytest
from alembic import command
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from backend.db import make_engine
from backend.migrate import alembic_config, head_revisions
from fieldsync.logs import JsonFormatter, TextFormatter
from fieldsync.wiring import build_app
from tests.factories import auth_headers


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


async def test_not_ready_when_migrations_are_behind(settings, network):
    url = settings.resolved_database_url
    # Pretend the newest revision was never applied (the schema itself is untouched). Alembic
    # runs its own event loop, so it runs in a thread here.
    await asyncio.to_thread(command.stamp, alembic_config(url), "0005_messaging", purge=True)
    try:
        async with AsyncTestClient(app=build_app(settings)) as client:
            r = await client.get("/health/ready")
            metrics = (await client.get("/metrics")).text
        assert r.status_code == 503
        assert r.json() == {
            "status": "unavailable",
            "checks": {"database": "ok", "migrations": "pending: run 'fieldsync migrate'"},
            "schema": {"database": ["0005_messaging"], "code": sorted(head_revisions(url))},
        }
        assert 'fieldsync_schema_state{state="pending"} 1.0' in metrics
        assert 'fieldsync_schema_state{state="current"} 0.0' in metrics
    finally:
        await asyncio.to_thread(command.stamp, alembic_config(url), "heads", purge=True)


async def _set_revisions(url: str, revisions: list[str]) -> None:
    """Write the database's revision marks by hand (a newer release's are unknown to Alembic here)."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM alembic_version"))
            for revision in revisions:
                await conn.execute(
                    text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": revision}
                )
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("marks", "status", "migrations", "state"),
    [
        # a newer release migrated while this (older) process drains: it keeps serving
        (
            ["0099_from_a_newer_release"],
            200,
            "ahead: the database is newer than this release; serving until replaced",
            "ahead",
        ),
        # a head of ours and a revision we never saw: some other branch's migrations ran
        (
            ["HEAD", "0099_some_branch"],
            503,
            "diverged: the database has revisions this release does not know",
            "diverged",
        ),
    ],
)
async def test_readiness_when_the_database_is_newer_than_the_code(
    settings, network, marks, status, migrations, state
):
    url = settings.resolved_database_url
    heads = sorted(head_revisions(url))
    marks = [m for mark in marks for m in (heads if mark == "HEAD" else [mark])]
    await _set_revisions(url, marks)
    try:
        async with AsyncTestClient(app=build_app(settings)) as client:
            r = await client.get("/health/ready")
            metrics = (await client.get("/metrics")).text
    finally:
        await _set_revisions(url, heads)
    assert r.status_code == status, r.text
    assert r.json() == {
        "status": "ok" if status == 200 else "unavailable",
        "checks": {"database": "ok", "migrations": migrations},
        "schema": {"database": sorted(marks), "code": heads},
    }
    assert f'fieldsync_schema_state{{state="{state}"}} 1.0' in metrics
    assert f'fieldsync_schema_info{{code="{heads[0]}",database="{",".join(sorted(marks))}"}} 1.0' in metrics


async def test_not_ready_when_the_database_is_unreachable(settings, tmp_path):
    gone = msgspec.structs.replace(
        settings, database_url=f"sqlite+aiosqlite:///{tmp_path / 'no-such-folder' / 'x.db'}"
    )
    async with AsyncTestClient(app=build_app(gone)) as client:
        r = await client.get("/health/ready")
        assert (await client.get("/health/live")).status_code == 200
    assert r.status_code == 503
    assert r.json()["status"] == "unavailable"
    assert r.json()["checks"]["database"].startswith("unreachable")


async def test_metrics_count_requests_by_route_template(client, network):
    headers = await auth_headers(client, "admin")
    for _ in range(3):
        assert (
            await client.get(f"/admin/users/{network.user('admin').id}", headers=headers)
        ).status_code == 200
    text = (await client.get("/metrics")).text
    assert (
        'fieldsync_http_requests_total{method="GET",route="/admin/users/{user_id}",status="200"} 3.0' in text
    )
    assert "fieldsync_http_request_seconds_bucket" in text


async def test_every_request_is_logged_with_its_request_id(client, network):
    lines = {"json": io.StringIO(), "text": io.StringIO()}
    logger = logging.getLogger("fieldsync.http")
    handlers = [logging.StreamHandler(lines["json"]), logging.StreamHandler(lines["text"])]
    handlers[0].setFormatter(JsonFormatter())
    handlers[1].setFormatter(TextFormatter())
    level = logger.level
    logger.setLevel(logging.INFO)
    for handler in handlers:
        logger.addHandler(handler)
    try:
        await client.get("/health/live", headers={"X-Request-ID": "trace-me-42"})
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
        logger.setLevel(level)
    line = json.loads(lines["json"].getvalue().splitlines()[0])
    assert line["msg"].startswith("GET /health/live 200 ")
    assert (line["request_id"], line["level"], line["logger"]) == ("trace-me-42", "info", "fieldsync.http")
    assert lines["text"].getvalue().rstrip().endswith("[req trace-me-42]")
