"""Operations edges (issue 12, class 4): refusals counted under their own status in /metrics,
and the metrics content type as Prometheus expects it."""

from __future__ import annotations

import re

import msgspec
from litestar.testing import AsyncTestClient

from fieldsync.wiring import build_app
from tests.factories import login


def _count(text: str, status: str) -> float:
    return sum(
        float(value)
        for labels, value in re.findall(r"^fieldsync_http_requests_total\{(.*)\} (\S+)$", text, re.M)
        if f'status="{status}"' in labels
    )


async def test_a_429_is_counted_as_a_429_in_metrics(settings, network):
    limited = msgspec.structs.replace(settings, requests_per_minute=3, sync_mutations_per_minute=1)
    async with AsyncTestClient(app=build_app(limited)) as client:
        tokens = await login(client, "field-north")
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        mutations = [
            {"id": f"m{i}", "seq": i, "name": "profile.update", "args": {"display_name": f"n{i}"}}
            for i in (1, 2)
        ]
        pushed = await client.post(
            "/sync/v1/push", json={"client_id": "ops", "protocol": 1, "mutations": mutations}, headers=headers
        )
        assert pushed.status_code == 429  # the per-device push limit
        statuses = [(await client.get("/me", headers=headers)).status_code for _ in range(4)]
        assert 429 in statuses  # the per-device request limit
        text = (await client.get("/metrics")).text
    refused = 1 + statuses.count(429)
    assert _count(text, "429") == refused, text
    assert _count(text, "500") == 0


async def test_metrics_content_type_names_its_charset_once(client):
    response = await client.get("/metrics")
    content_type = response.headers["content-type"]
    assert content_type.lower().count("charset") == 1, content_type
    assert content_type.startswith("text/plain; version=") and "charset=utf-8" in content_type
