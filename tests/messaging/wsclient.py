"""A small real WebSocket client for tests and benchmarks (the ``websockets`` library)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import websockets


class Socket:
    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.seen: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, ws_url: str, token: str, *, via_query: bool = False) -> Socket:
        if via_query:
            conn = await websockets.connect(f"{ws_url}?access_token={token}")
        else:
            conn = await websockets.connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"})
        sock = cls(conn)
        ready = await sock.wait_for(lambda e: e["type"] in ("ready", "error"))
        if ready["type"] == "error":
            raise PermissionError(ready["code"])
        return sock

    async def wait_for(self, match: Callable[[dict[str, Any]], bool], timeout: float = 5) -> dict[str, Any]:
        async def loop() -> dict[str, Any]:
            while True:
                event = json.loads(await self.conn.recv())
                self.seen.append(event)
                if match(event):
                    return event

        return await asyncio.wait_for(loop(), timeout)

    async def drain(self, seconds: float = 0.3) -> list[dict[str, Any]]:
        """Everything that arrives within ``seconds``."""
        got: list[dict[str, Any]] = []
        try:
            while True:
                event = json.loads(await asyncio.wait_for(self.conn.recv(), seconds))
                self.seen.append(event)
                got.append(event)
        except TimeoutError:
            return got

    async def send(self, event: dict[str, Any]) -> None:
        await self.conn.send(json.dumps(event))

    async def close(self) -> None:
        await self.conn.close()
