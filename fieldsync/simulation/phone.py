"""One simulated phone: a reference sync client, a person's habits, and a flaky connection."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from fieldsync.simulation.fleet import PhoneSpec, login
from fieldsync.simulation.photos import snapshot
from fieldsync.simulation.report import Tally
from sync.client import ReferenceClient, SyncHttpError, UploadStats
from sync.protocol import MSGPACK


@dataclass
class Habits:
    """How a phone behaves: mean seconds between actions, how often and how long it drops out."""

    think_s: float = 1.0
    offline_chance: float = 0.08  # per action, of losing signal
    offline_s: tuple[float, float] = (2.0, 20.0)
    lost_reply_chance: float = 0.02  # per push, of the connection dropping after the server committed
    push_batch: int = 100
    photo_chunk: int = 4096  # bytes per tus PATCH (a photo is 10–20 kB: a few chunks each)
    dropped_chunk_chance: float = 0.05  # per chunk, of losing signal half-way through it
    min_actions: int = 0  # a phone acts at least this often, even past the end of the day


class Phone:
    def __init__(
        self,
        spec: PhoneSpec,
        http: httpx.AsyncClient,
        tally: Tally,
        habits: Habits,
        rng: random.Random,
        *,
        password: str,
        replica_path: str = ":memory:",
    ) -> None:
        self.spec = spec
        self.http = http
        self.tally = tally
        self.habits = habits
        self.rng = rng
        self.password = password
        self.client = ReferenceClient(
            http,
            client_id=spec.client_id,
            headers={"Authorization": f"Bearer {spec.token}"},
            path=replica_path,
            media_type=MSGPACK,
        )
        self.online = True
        self.offline_until = 0.0
        self.queued_ids: set[str] = set()
        self.photos_taken: set[str] = set()
        self.attachments: dict[str, str] = {}  # media.attach mutation id -> photo SHA-256
        self._hlc_counter = 0

    # --- the replica, as behaviours see it ------------------------------------------------

    def entities(
        self, entity: str, *, limit: int = 50, where: str = "", params: tuple[Any, ...] = ()
    ) -> list[dict]:
        """A random sample of live rows of ``entity`` in the replica (their data), each row once
        (a row in several of the phone's scopes — a delivery to a terminal on the route is also
        the distributor's — is held once per scope)."""
        import json

        query = (
            f"SELECT data FROM rows WHERE entity = ? AND deleted = 0 {where} "
            "GROUP BY id ORDER BY random() LIMIT ?"
        )
        return [json.loads(d) for (d,) in self.client.db.execute(query, (entity, *params, limit))]

    def count(self, entity: str) -> int:
        return int(
            self.client.db.execute(
                "SELECT count(*) FROM rows WHERE entity = ? AND deleted = 0", (entity,)
            ).fetchone()[0]
        )

    def queue(self, name: str, args: dict[str, Any], *, after_upload: str | None = None) -> str:
        """Queue a mutation; with ``after_upload`` it is pushed once that photo is uploaded."""
        mutation_id = self.client.mutate(name, args, after_upload=after_upload)
        self.queued_ids.add(mutation_id)
        self.tally.queued[name] += 1
        return mutation_id

    def take_photo(self, what: str) -> str:
        """Take a photo (kept on the phone until uploaded); returns its SHA-256."""
        sha256 = self.client.add_photo(snapshot(self.rng, f"{self.spec.client_id} {what}"))
        self.photos_taken.add(sha256)
        self.tally.photos["taken"] += 1
        return sha256

    def hlc(self) -> str:
        """A hybrid logical clock stamp for an answer: wall ms, a counter, this phone."""
        self._hlc_counter += 1
        return f"{int(time.time() * 1000)}:{self._hlc_counter}:{self.spec.client_id}"

    # --- the network -----------------------------------------------------------------------

    def _toggle_signal(self) -> None:
        if self.online and self.rng.random() < self.habits.offline_chance:
            self._lose_signal()
        elif not self.online and time.monotonic() >= self.offline_until:
            self.online = True
            self.tally.online += 1
            self.tally.events["came back online"] += 1

    async def sign_in_again(self) -> None:
        status, body = await login(self.http, self.spec.username, self.password, self.spec.client_id)
        if status == 200:
            self.spec.token = body["access_token"]
            self.client.headers["Authorization"] = f"Bearer {self.spec.token}"
            self.tally.events["signed in again"] += 1

    def _drop_chunk(self) -> bool:
        return self.rng.random() < self.habits.dropped_chunk_chance

    def _lose_signal(self) -> None:
        if self.online:
            self.online = False
            self.offline_until = time.monotonic() + self.rng.uniform(*self.habits.offline_s)
            self.tally.online -= 1
            self.tally.events["went offline"] += 1

    def _count_uploads(self, stats: UploadStats) -> None:
        photos = self.tally.photos
        photos["uploaded"] += stats.finished
        photos["bytes uploaded"] += stats.bytes_sent
        photos["chunks"] += stats.chunks
        photos["resumed"] += stats.resumed
        photos["connections dropped mid-chunk"] += stats.dropped
        photos["offset mismatches"] += stats.offset_mismatches
        for code, n in stats.refused.items():
            photos[f"refused {code}"] += n

    async def sync(self, *, reliable: bool = False) -> bool:
        """Upload pending photos, push the outbox in batches, then pull. ``reliable`` turns off lost
        replies and dropped connections. True on success."""
        try:
            stats = UploadStats()
            try:
                await self.client.upload_pending(
                    chunk_size=self.habits.photo_chunk,
                    drop=None if reliable else self._drop_chunk,
                    stats=stats,
                )
            finally:
                self._count_uploads(stats)
            if stats.dropped:
                self._lose_signal()
                return False
            while self.client.ready(1):
                pending = {i: n for _s, i, n in self.client.outbox()[: self.habits.push_batch]}
                lose = not reliable and self.rng.random() < self.habits.lost_reply_chance
                started = time.perf_counter()
                reply = await self.client.push(limit=self.habits.push_batch, lose_reply=lose)
                self.tally.push_latency_s.append(time.perf_counter() - started)
                self.tally.events["pushes"] += 1
                if lose:
                    self.tally.events["replies lost after commit"] += 1
                    continue
                if reply is None:
                    break
                self.tally.record_results(reply.results, pending)
                if reply.expected_seq is not None:
                    self.tally.errors["seq gap reported"] += 1
                    return False
            started = time.perf_counter()
            stats = await self.client.pull(limit=1000)
            self.tally.pull_latency_s.append(time.perf_counter() - started)
            self.tally.events["pulls"] += 1
            self.tally.pulled_changes += stats.changes
            if stats.repaired:
                self.tally.events["scopes repaired after checksum mismatch"] += len(stats.repaired)
            if stats.revoked:
                self.tally.events["scopes revoked"] += len(stats.revoked)
            return True
        except SyncHttpError as exc:
            code = exc.body.get("code") if isinstance(exc.body, dict) else None
            self.tally.errors[f"HTTP {exc.status} {code or ''}".strip()] += 1
            if exc.status == 401:
                await self.sign_in_again()
            return False
        except httpx.HTTPError as exc:
            self.tally.errors[f"transport {type(exc).__name__}"] += 1
            return False

    # --- a day ------------------------------------------------------------------------------

    async def run(self, until: float, act: Callable[[Phone], None], start_delay: float = 0.0) -> None:
        """Act and sync until ``until`` (monotonic seconds) and at least ``min_actions`` times."""
        await asyncio.sleep(start_delay)
        await self.sync()  # first start: the initial pull
        actions = 0
        while time.monotonic() < until or actions < self.habits.min_actions:
            actions += 1
            await asyncio.sleep(self.rng.expovariate(1.0 / self.habits.think_s))
            self._toggle_signal()
            try:
                act(self)
            except Exception as exc:  # a behaviour bug must not stop the fleet; count it
                self.tally.errors[f"behaviour {type(exc).__name__}: {exc}"[:120]] += 1
            if self.online:
                await self.sync()

    async def end_of_day(self) -> None:
        """Back in signal: push everything and pull until caught up (retrying transient errors)."""
        if not self.online:
            self.online = True
            self.tally.online += 1
        for attempt in range(5):
            if await self.sync(reliable=True) and not self.client.outbox():
                return
            await asyncio.sleep(0.5 * (attempt + 1))

    def lost_mutations(self) -> list[str]:
        """Queued mutation ids that have no result and are not waiting in the outbox."""
        done = set(self.client.results())
        waiting = {i for _s, i, _n in self.client.outbox()}
        return sorted(self.queued_ids - done - waiting)
