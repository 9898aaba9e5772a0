"""The reference sync client: a local SQLite replica and an outbox, speaking protocol v1 over HTTP.

Used by the tests, the simulator and the benchmarks, and a model for phone developers:

* ``mutate`` appends a named command to the outbox with the next ``seq``;
* ``push`` sends the outbox in order and drops every *acknowledged* mutation (applied,
  duplicate, conflict, rejected) — only a ``seq_gap`` refusal stays;
* ``pull`` applies pages atomically with the cursor, purges ``reset``/``revoked`` scopes,
  keeps tombstones so an older version arriving late never resurrects a row, compares every
  checksum with the replica and re-syncs a diverged scope alone;
* ``add_photo`` keeps a photo for upload and ``upload_pending`` sends it over tus 1.0 (create,
  ``PATCH`` chunks with ``Upload-Checksum``, ``HEAD`` to resume after a dropped connection). A
  mutation queued with ``after_upload=<sha256>`` (``media.attach``, a submit that needs the
  photo) waits in the outbox until that upload is finished: ``push`` sends the outbox only up to
  the first such mutation.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
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
    args TEXT NOT NULL, client_time TEXT, after_upload TEXT
);
CREATE TABLE IF NOT EXISTS uploads (
    sha256 TEXT PRIMARY KEY, data BLOB NOT NULL, filetype TEXT NOT NULL,
    location TEXT, state TEXT NOT NULL DEFAULT 'pending', code TEXT
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


TUS = {"Tus-Resumable": "1.0.0"}
# Refusals after which sending the same bytes again cannot help: the upload is given up.
_TUS_FINAL = {413, 415, 422}


class ConnectionDropped(Exception):
    """Raised inside a request body to drop the connection part-way through a chunk."""


@dataclass
class UploadStats:
    finished: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # code -> uploads given up
    bytes_sent: int = 0  # bytes of the chunks the server acknowledged
    chunks: int = 0
    resumed: int = 0  # uploads continued from the server's offset (HEAD) after an interruption
    dropped: int = 0  # connections dropped mid-chunk
    offset_mismatches: int = 0
    locked: int = 0  # 423: another request of ours still writes the upload (a lost reply)


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

    def mutate(
        self,
        name: str,
        args: dict[str, Any] | None = None,
        *,
        mutation_id: str | None = None,
        after_upload: str | None = None,
    ) -> str:
        """Queue a command offline; returns its id. With ``after_upload`` (a photo's SHA-256 from
        :meth:`add_photo`) it is not pushed before that upload is finished (or given up)."""
        mutation_id = mutation_id or new_id()
        with self.db:
            seq = int(self._meta("next_seq", "1") or 1)
            self.db.execute(
                "INSERT INTO outbox (seq, id, name, args, client_time, after_upload) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (seq, mutation_id, name, json.dumps(args or {}), utcnow().isoformat(), after_upload),
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

    @staticmethod
    def _error(response: Any) -> SyncHttpError:
        try:
            body = response.json()
        except ValueError:
            body = response.text
        return SyncHttpError(response.status_code, body)

    def _decode(self, response: Any, type_: Any) -> Any:
        if response.status_code != 200:
            raise self._error(response)
        if p.is_msgpack(response.headers.get("content-type")):
            return msgspec.msgpack.decode(response.content, type=type_)
        return msgspec.json.decode(response.content, type=type_)

    # --- push ---------------------------------------------------------------------------

    async def push(self, *, limit: int = 500, lose_reply: bool = False) -> p.PushResponse | None:
        """Send up to ``limit`` outbox mutations. ``lose_reply`` simulates a connection that drops
        after the server committed: nothing is acknowledged locally, so they are sent again."""
        pending = self.ready(limit)
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

    def ready(self, limit: int = 500) -> list[tuple[int, str, str, str, str]]:
        """The outbox's head that may be pushed now: up to the first mutation still waiting for
        an upload (so ``seq`` order is kept)."""
        rows = self.db.execute(
            "SELECT o.seq, o.id, o.name, o.args, o.client_time, u.state FROM outbox o "
            "LEFT JOIN uploads u ON u.sha256 = o.after_upload ORDER BY o.seq LIMIT ?",
            (limit,),
        ).fetchall()
        ready = []
        for seq, mutation_id, name, args, client_time, upload_state in rows:
            if upload_state == "pending":
                break
            ready.append((seq, mutation_id, name, args, client_time))
        return ready

    async def push_all(self, *, batch: int = 500) -> None:
        """Push everything that is ready (see :meth:`ready`)."""
        while self.ready(1):
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
            params: dict[str, Any] = {"limit": limit, "client_id": self.client_id, "protocol": self.protocol}
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
        await self.upload_pending()
        await self.push_all()
        return await self.pull(limit=limit)

    # --- photos over tus ------------------------------------------------------------------

    def add_photo(self, data: bytes, filetype: str = "image/jpeg") -> str:
        """Keep a photo for upload (the same bytes twice are one upload); returns its SHA-256."""
        sha256 = hashlib.sha256(data).hexdigest()
        with self.db:
            self.db.execute(
                "INSERT OR IGNORE INTO uploads (sha256, data, filetype) VALUES (?, ?, ?)",
                (sha256, data, filetype),
            )
        return sha256

    def uploads(self) -> dict[str, dict[str, Any]]:
        """sha256 -> {state (pending/done/refused), code, size, location}."""
        return {
            sha: {"state": state, "code": code, "size": size, "location": location}
            for sha, state, code, size, location in self.db.execute(
                "SELECT sha256, state, code, length(data), location FROM uploads"
            )
        }

    def photo(self, sha256: str) -> bytes:
        return bytes(self.db.execute("SELECT data FROM uploads WHERE sha256 = ?", (sha256,)).fetchone()[0])

    def _set_upload(self, sha256: str, **values: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        with self.db:
            self.db.execute(f"UPDATE uploads SET {sets} WHERE sha256 = ?", (*values.values(), sha256))

    async def upload_pending(
        self,
        *,
        chunk_size: int = 256 * 1024,
        drop: Callable[[], bool] | None = None,
        stats: UploadStats | None = None,
    ) -> UploadStats:
        """Send every unfinished photo over tus, resuming each where the server has it.

        ``drop()`` is asked before each chunk; True simulates a connection lost half-way through
        it: the chunk goes without a checksum (so the server keeps what arrived), the request
        dies, and this returns at once with ``dropped`` set — the next call resumes (``HEAD``).
        ``stats`` (filled in as it goes) keeps the counts when an HTTP error ends the call.
        """
        stats = stats if stats is not None else UploadStats()
        pending = self.db.execute(
            "SELECT sha256, data, filetype, location FROM uploads WHERE state = 'pending' ORDER BY rowid"
        ).fetchall()
        for sha256, data, filetype, location in pending:
            if not await self._upload(stats, sha256, bytes(data), filetype, location, chunk_size, drop):
                break
        return stats

    async def _upload(
        self,
        stats: UploadStats,
        sha256: str,
        data: bytes,
        filetype: str,
        location: str | None,
        chunk_size: int,
        drop: Callable[[], bool] | None,
    ) -> bool:
        """One upload; False when the connection dropped (stop uploading for now)."""
        offset = 0
        if location is not None:
            head = await self.http.head(location, headers={**self.headers, **TUS})
            if head.status_code == 200:
                offset = int(head.headers["Upload-Offset"])
                stats.resumed += 1
            elif head.status_code in (404, 410):  # expired or refused: start again
                location = None
            else:
                raise self._error(head)
        if location is None:
            meta = "filetype " + base64.b64encode(filetype.encode()).decode()
            created = await self.http.post(
                "/media/uploads/",
                headers={**self.headers, **TUS, "Upload-Length": str(len(data)), "Upload-Metadata": meta},
            )
            if created.status_code != 201:
                return self._refused(stats, sha256, created)
            location = created.headers["Location"]
            self._set_upload(sha256, location=location)
        for _attempt in range(4 * (len(data) // chunk_size + 2)):
            if offset >= len(data):
                break
            piece = data[offset : offset + chunk_size]
            headers = {
                **self.headers,
                **TUS,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            }
            if drop is not None and drop():
                stats.dropped += 1
                with contextlib.suppress(ConnectionDropped):
                    await self.http.patch(location, headers=headers, content=_half_then_drop(piece))
                return False
            digest = base64.b64encode(hashlib.sha256(piece).digest()).decode()
            reply = await self.http.patch(
                location, headers={**headers, "Upload-Checksum": f"sha256 {digest}"}, content=piece
            )
            if reply.status_code == 204:
                stats.chunks += 1
                stats.bytes_sent += int(reply.headers["Upload-Offset"]) - offset
                offset = int(reply.headers["Upload-Offset"])
                if offset == len(data):
                    stored = reply.headers.get("Fieldsync-Media-Sha256")
                    if stored is not None and stored != sha256:
                        raise SyncHttpError(204, f"server stored {stored} for photo {sha256}")
            elif reply.status_code == 409:  # upload_offset_mismatch: resume where the server is
                stats.offset_mismatches += 1
                offset = int(reply.headers["Upload-Offset"])
            elif reply.status_code in (404, 410):  # gone: the next call starts again
                self._set_upload(sha256, location=None)
                return True
            elif reply.status_code == 423:  # upload_locked: an earlier PATCH still runs; later
                stats.locked += 1
                return False
            elif reply.status_code in _TUS_FINAL:
                return self._refused(stats, sha256, reply)
            elif reply.status_code != 460:  # 460: checksum mismatch, nothing kept: send it again
                raise self._error(reply)
        if offset >= len(data):
            self._set_upload(sha256, state="done")
            stats.finished += 1
        return True

    def _refused(self, stats: UploadStats, sha256: str, response: Any) -> bool:
        if response.status_code not in _TUS_FINAL:
            raise self._error(response)
        try:
            code = response.json().get("code", str(response.status_code))
        except ValueError:
            code = str(response.status_code)
        self._set_upload(sha256, state="refused", code=code)
        stats.refused[code] = stats.refused.get(code, 0) + 1
        return True

    def close(self) -> None:
        self.db.close()


async def _half_then_drop(piece: bytes) -> AsyncIterator[bytes]:
    """A request body that loses the connection after half of ``piece``."""
    yield piece[: max(1, len(piece) // 2)]
    await asyncio.sleep(0.05)  # let the first half reach the server
    raise ConnectionDropped
