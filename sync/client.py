"""The reference sync client: a local SQLite replica and an outbox, speaking protocol v1 over HTTP.

Used by the tests, the simulator and the benchmarks, and a model for phone developers:

* ``mutate`` appends a named command to the outbox with the next ``seq``;
* ``push`` sends the outbox in order and drops every *acknowledged* mutation (applied,
  duplicate, conflict, rejected) — only a ``seq_gap`` refusal stays;
* ``pull`` applies pages atomically with the cursor, purges ``reset``/``revoked`` scopes,
  keeps tombstones so an older version arriving late never resurrects a row, compares every
  checksum with the replica and re-syncs a diverged scope alone.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec

from backend.changefeed import row_digest
from backend.db import new_id, utcnow
from sync import protocol as p

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rows (
    scope TEXT NOT NULL, entity TEXT NOT NULL, id TEXT NOT NULL,
    version INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, data TEXT,
    PRIMARY KEY (scope, entity, id)
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
    args TEXT NOT NULL, client_time TEXT
);
CREATE TABLE IF NOT EXISTS results (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
    code TEXT, data TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""


class SyncHttpError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


@dataclass
class PullStats:
    pages: int = 0
    changes: int = 0
    repaired: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    resync_required: list[str] = field(default_factory=list)


class ReferenceClient:
    """One phone: ``http`` is an httpx-style async client (``post``/``get``) for the server."""

    def __init__(
        self,
        http: Any,
        *,
        client_id: str,
        headers: dict[str, str] | None = None,
        path: str = ":memory:",
        media_type: str = p.JSON,
        protocol: int = p.PROTOCOL_VERSION,
    ) -> None:
        self.http = http
        self.client_id = client_id
        self.headers = dict(headers or {})
        self.media_type = media_type
        self.protocol = protocol
        self.db = sqlite3.connect(path)
        self.db.executescript(_SCHEMA)

    # --- local state ----------------------------------------------------------------------

    def _meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def _set_meta(self, key: str, value: str | None) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @property
    def cursor(self) -> str | None:
        return self._meta("cursor")

    @property
    def last_applied_seq(self) -> int:
        return int(self._meta("last_applied_seq", "0") or 0)

    def outbox(self) -> list[tuple[int, str, str]]:
        return self.db.execute("SELECT seq, id, name FROM outbox ORDER BY seq").fetchall()

    def result(self, mutation_id: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT seq, name, status, code, data FROM results WHERE id = ?", (mutation_id,)
        ).fetchone()
        if row is None:
            return None
        seq, name, status, code, data = row
        return {"seq": seq, "name": name, "status": status, "code": code, "data": json.loads(data)}

    def results(self) -> dict[str, dict[str, Any]]:
        ids = [r[0] for r in self.db.execute("SELECT id FROM results")]
        return {i: self.result(i) for i in ids}  # type: ignore[misc]

    def mutate(self, name: str, args: dict[str, Any] | None = None, *, mutation_id: str | None = None) -> str:
        """Queue a command offline; returns its id."""
        mutation_id = mutation_id or new_id()
        with self.db:
            seq = int(self._meta("next_seq", "1") or 1)
            self.db.execute(
                "INSERT INTO outbox (seq, id, name, args, client_time) VALUES (?, ?, ?, ?, ?)",
                (seq, mutation_id, name, json.dumps(args or {}), utcnow().isoformat()),
            )
            self._set_meta("next_seq", str(seq + 1))
        return mutation_id

    def rows(self, scope: str | None = None) -> dict[tuple[str, str, str], tuple[int, Any]]:
        """Live rows: (scope, entity, id) -> (version, data)."""
        query = "SELECT scope, entity, id, version, data FROM rows WHERE deleted = 0"
        params: tuple[Any, ...] = ()
        if scope is not None:
            query += " AND scope = ?"
            params = (scope,)
        return {(s, e, i): (v, json.loads(d)) for s, e, i, v, d in self.db.execute(query, params)}

    def scopes(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT DISTINCT scope FROM rows WHERE deleted = 0")}

    def checksum(self, scope: str) -> tuple[int, int]:
        live = self.db.execute(
            "SELECT entity, id, version FROM rows WHERE scope = ? AND deleted = 0", (scope,)
        ).fetchall()
        return len(live), sum(row_digest(e, i, v) for e, i, v in live)

    # --- HTTP ---------------------------------------------------------------------------

    def _headers(self, *, body: bool = False) -> dict[str, str]:
        headers = {**self.headers, "Accept": self.media_type}
        if body:
            headers["Content-Type"] = self.media_type
        return headers

    def _decode(self, response: Any, type_: Any) -> Any:
        if response.status_code != 200:
            try:
                body = response.json()
            except ValueError:
                body = response.text
            raise SyncHttpError(response.status_code, body)
        if p.is_msgpack(response.headers.get("content-type")):
            return msgspec.msgpack.decode(response.content, type=type_)
        return msgspec.json.decode(response.content, type=type_)

    # --- push ---------------------------------------------------------------------------

    async def push(self, *, limit: int = 500, lose_reply: bool = False) -> p.PushResponse | None:
        """Send up to ``limit`` outbox mutations. ``lose_reply`` simulates a connection that drops
        after the server committed: nothing is acknowledged locally, so they are sent again."""
        pending = self.db.execute(
            "SELECT seq, id, name, args, client_time FROM outbox ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        if not pending:
            return None
        envelope = {
            "client_id": self.client_id,
            "protocol": self.protocol,
            "mutations": [
                {"id": i, "seq": s, "name": n, "args": json.loads(a), "client_time": t}
                for s, i, n, a, t in pending
            ],
        }
        body = p.encode(envelope, self.media_type)
        response = await self.http.post("/sync/v1/push", content=body, headers=self._headers(body=True))
        if lose_reply:
            return None
        reply: p.PushResponse = self._decode(response, p.PushResponse)
        names = {i: n for _s, i, n, _a, _t in pending}
        with self.db:
            for r in reply.results:
                if r.status == p.REJECTED and r.code == "seq_gap":
                    continue
                status = r.original_status or r.status
                self.db.execute(
                    "INSERT OR REPLACE INTO results (id, seq, name, status, code, data) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        r.id,
                        r.seq,
                        names.get(r.id, ""),
                        status,
                        r.code,
                        json.dumps(msgspec.to_builtins(r.data)),
                    ),
                )
                self.db.execute("DELETE FROM outbox WHERE id = ?", (r.id,))
        return reply

    async def push_all(self, *, batch: int = 500) -> None:
        while self.outbox():
            reply = await self.push(limit=batch)
            if reply is not None and reply.expected_seq is not None:
                raise RuntimeError(f"the server expects seq {reply.expected_seq}; the outbox has a gap")

    # --- pull ---------------------------------------------------------------------------

    async def pull(
        self, *, limit: int = 500, max_pages: int = 10_000, wait_pending_s: float = 10.0
    ) -> PullStats:
        """Pull until nothing more is waiting; repair any scope whose checksum disagrees.

        While the server says changes are ``pending`` (held behind an older transaction) it
        pulls again after a short pause, for up to ``wait_pending_s``.
        """
        stats = PullStats()
        resync: set[str] = set()
        deadline = time.monotonic() + wait_pending_s
        for _ in range(max_pages):
            params: dict[str, Any] = {"limit": limit, "client_id": self.client_id}
            if self.cursor:
                params["cursor"] = self.cursor
            if resync:
                params["resync"] = ",".join(sorted(resync))
            response = await self.http.get("/sync/v1/pull", params=params, headers=self._headers())
            page: p.PullResponse = self._decode(response, p.PullResponse)
            resync.clear()
            diverged = self._apply_page(page)
            stats.pages += 1
            stats.changes += len(page.changes)
            stats.revoked += page.revoked
            stats.resync_required += page.resync_required
            if diverged:
                stats.repaired += diverged
                resync |= set(diverged)
                continue
            if page.pending and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
                continue
            if not page.has_more:
                return stats
        raise RuntimeError("pull did not finish within max_pages")

    def _apply_page(self, page: p.PullResponse) -> list[str]:
        with self.db:
            for scope in (*page.revoked, *page.reset):
                self.db.execute("DELETE FROM rows WHERE scope = ?", (scope,))
            for change in page.changes:
                self._apply_change(change)
            self._set_meta("cursor", page.cursor)
            if page.last_applied_seq is not None:
                self._set_meta("last_applied_seq", str(page.last_applied_seq))
        return [s for s, c in page.checksums.items() if self.checksum(s) != (c.count, c.digest)]

    def _apply_change(self, c: p.ChangeOut) -> None:
        """Versions only move forward; a tombstone wins over an upsert of the same version."""
        row = self.db.execute(
            "SELECT version, deleted FROM rows WHERE scope = ? AND entity = ? AND id = ?",
            (c.scope, c.entity, c.id),
        ).fetchone()
        if c.op == "delete":
            if row is None or c.version >= row[0]:
                self.db.execute(
                    "INSERT OR REPLACE INTO rows (scope, entity, id, version, deleted, data) "
                    "VALUES (?, ?, ?, ?, 1, NULL)",
                    (c.scope, c.entity, c.id, c.version),
                )
            return
        if row is None or (not row[1] and c.version >= row[0]) or (row[1] and c.version > row[0]):
            self.db.execute(
                "INSERT OR REPLACE INTO rows (scope, entity, id, version, deleted, data) "
                "VALUES (?, ?, ?, ?, 0, ?)",
                (c.scope, c.entity, c.id, c.version, json.dumps(c.data)),
            )

    async def sync(self, *, limit: int = 500) -> PullStats:
        await self.push_all()
        return await self.pull(limit=limit)

    def close(self) -> None:
        self.db.close()
