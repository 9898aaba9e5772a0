"""A real server on 127.0.0.1 for the WebSocket tests (uvicorn in the test's event loop)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from litestar import Litestar

from fieldsync.simulation.server import free_port


@dataclass
class LiveServer:
    base_url: str
    http: httpx.AsyncClient

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/ws"

    async def login(self, username: str, password: str = "fieldsync-demo", **extra: str) -> dict:
        body = {
            "username": username,
            "password": password,
            "client_id": extra.pop("client_id", "t-" + username),
        }
        body.update(extra)
        response = await self.http.post("/auth/login", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    async def headers(self, username: str, **extra: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + (await self.login(username, **extra))["access_token"]}


@asynccontextmanager
async def serve(app: Litestar) -> AsyncIterator[LiveServer]:
    """``app`` served by uvicorn on a free 127.0.0.1 port in this event loop."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio", lifespan="on"
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            yield LiveServer(base, http)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def live_server(app: Litestar, network) -> AsyncIterator[LiveServer]:
    async with serve(app) as live:
        yield live
