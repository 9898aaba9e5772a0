"""Two real API processes sharing Redis allow each limit once between them, not once each.

Request rate (per address before sign-in), sync-push rate (per device) and the login lockout
(counted in the database, one statement per failure) are each driven through both processes.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fieldsync.simulation.server import ServerProcess
from tests.factories import DEMO_PASSWORD, Network

LIMIT = 12


@pytest.fixture
def servers(db_url: str, network: Network, redis_url: str, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    limits = {
        "redis_url": redis_url,
        "requests_per_minute": LIMIT,
        "sync_mutations_per_minute": LIMIT,
        "login_max_failures": 6,
    }
    with (
        ServerProcess(db_url, tmp_path / "a", **limits) as a,
        ServerProcess(db_url, tmp_path / "b", **limits) as b,
    ):
        yield [a, b]


def _one_window(run):  # noqa: ANN001, ANN202 - a test helper
    """Run ``run()`` again if a minute boundary (a new fixed window) fell inside it."""
    for _ in range(3):
        started = time.time()
        result = run()
        if int(started // 60) == int(time.time() // 60):
            return result
    raise AssertionError("three runs in a row straddled a minute boundary")


def _request_limit_is_shared(servers: list[ServerProcess]) -> None:
    def run() -> list[httpx.Response]:
        headers = _fresh_address()
        with httpx.Client(timeout=10) as http:
            return [
                http.get(servers[i % 2].url + "/sync/v1/schema", headers=headers) for i in range(2 * LIMIT)
            ]

    replies = _one_window(run)
    statuses = [r.status_code for r in replies]
    assert statuses.count(200) == LIMIT, statuses  # per process it would be 2 * LIMIT
    refused = [r for r in replies if r.status_code == 429]
    assert {r.request.url.port for r in refused} == {s.port for s in servers}
    for reply in refused:
        assert reply.json()["code"] == "rate_limited"
        assert 1 <= int(reply.headers["retry-after"]) <= 60
        assert reply.json()["details"]["retry_after_s"] == int(reply.headers["retry-after"])


def _fresh_address() -> dict[str, str]:
    """A new client address (the processes trust 127.0.0.1's ``X-Forwarded-For``): counts left in
    Redis by an earlier test in the same minute do not interfere."""
    return {"X-Forwarded-For": f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"}


def _login(url: str, username: str, password: str, client_id: str) -> httpx.Response:
    body = {"username": username, "password": password, "client_id": client_id, "platform": "android"}
    return httpx.post(url + "/auth/login", json=body, headers=_fresh_address(), timeout=30)


def _push_rate_is_shared(servers: list[ServerProcess]) -> None:
    client_id = f"phone-{secrets.token_hex(4)}"
    # sign in once per process, with one address per login (the request limit is per address)
    token = _login(servers[0].url, "field-north", DEMO_PASSWORD, client_id).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    def run() -> list[httpx.Response]:
        replies = []
        for i in range(4):  # 4 batches of 4 mutations over two processes: 16 > 12
            seq = [4 * i + k + 1 for k in range(4)]
            body = {
                "client_id": client_id,
                "protocol": 1,
                "mutations": [
                    {
                        "id": f"{client_id}-{s}-{secrets.token_hex(2)}",
                        "seq": s,
                        "name": "profile.update",
                        "args": {"display_name": f"n{s}"},
                    }
                    for s in seq
                ],
            }
            replies.append(
                httpx.post(servers[i % 2].url + "/sync/v1/push", json=body, headers=headers, timeout=30)
            )
        return replies

    replies = _one_window(run)
    assert [r.status_code for r in replies] == [200, 200, 200, 429], [r.text for r in replies]
    assert replies[3].json()["code"] == "sync_rate_limited"
    assert 1 <= int(replies[3].headers["retry-after"]) <= 60


def _concurrent_wrong_passwords_all_count(servers: list[ServerProcess]) -> None:
    async def guess(url: str, i: int) -> int:
        async with httpx.AsyncClient(timeout=60) as http:
            body = {
                "username": "dist-north",
                "password": f"wrong-{i}",
                "client_id": f"g{i}",
                "platform": "android",
            }
            return (await http.post(url + "/auth/login", json=body, headers=_fresh_address())).status_code

    async def all_guesses() -> list[int]:
        return await asyncio.gather(*(guess(servers[i % 2].url, i) for i in range(6)))

    assert asyncio.run(all_guesses()) == [401] * 6
    # six failures at once reached the limit of six: no count was lost between the processes
    for server in servers:
        locked = _login(server.url, "dist-north", DEMO_PASSWORD, "right")
        assert locked.status_code == 429, locked.text
        assert locked.json()["code"] == "login_locked"
        assert int(locked.headers["retry-after"]) > 0


def test_two_processes_share_every_limit(servers: list[ServerProcess]) -> None:
    """One pair of processes (starting them is the slow part) for the three limits."""
    _request_limit_is_shared(servers)
    _push_rate_is_shared(servers)
    _concurrent_wrong_passwords_all_count(servers)
