"""The push identity rule (sync/push_identity.py), as a hypothesis state machine on the real push path.

A phone with a buggy outbox pushes batches where ids and seqs are reused in every combination
(same id under its seq, under another seq, a new id under an acknowledged seq, gaps, both in one
batch). Whatever it sends, the server must answer by the rule written in docs/sync-protocol.md,
and besides the rule: a result always names the pushed id and seq, a ``duplicate`` carries only
that very mutation's stored result, every seq up to ``last_applied_seq`` is acknowledged and
stored, and a new id at the next seq always applies (the outbox never wedges).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from hypothesis import HealthCheck, Phase
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from backend.db import make_engine, make_session_factory
from backend.identity import User
from backend.syncstate import SyncMutation
from fieldsync.wiring import build_app
from tests.factories import auth_headers

IDS = ["a", "b", "c", "d"]

pushed = st.tuples(
    st.one_of(st.sampled_from(IDS), st.just(None)),  # None: a fresh id
    st.integers(-1, 2),  # seq relative to the next expected one (-1: the last acknowledged, …)
    st.booleans(),  # arguments the domain accepts, or refuses
)


class PushIdentity(RuleBasedStateMachine):
    """The model: per seq the (id or None, result) stored; per id its seq."""

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self.http, self.headers, self.factory = world.http, world.headers, world.factory
        self.client_id = f"sm-{uuid.uuid4().hex[:12]}"
        self.stored: dict[int, tuple[str | None, dict[str, Any]]] = {}
        self.seq_of: dict[str, int] = {}
        self.last_seq = 0
        self.applied = 0
        self.version0 = self._run(self._version())

    def _run(self, coro: Any) -> Any:
        return self.world.loop.run_until_complete(coro)

    async def _version(self) -> int:
        async with self.factory() as session:
            return (await session.get(User, self.world.user_id)).version

    def _expected(self, mid: str, seq: int) -> dict[str, Any] | None:
        """The rule, restated: the result ``(mid, seq)`` gets without running, or None (it runs)."""
        nxt = self.last_seq + 1
        if seq > nxt:
            return {"status": "rejected", "code": "seq_gap"}
        if mid in self.seq_of:
            first = self.seq_of[mid]
            if first == seq:
                original = self.stored[seq][1]
                return {"status": "duplicate", "original": original}
            if seq == nxt:
                self._ack(seq, None, {"status": "rejected", "code": "id_reused"})
            return {"status": "rejected", "code": "id_reused", "data": {"seq": first}}
        if seq == nxt:
            return None
        return {"status": "rejected", "code": "seq_reused"}

    def _ack(self, seq: int, mid: str | None, result: dict[str, Any]) -> None:
        self.stored[seq] = (mid, result)
        if mid is not None:
            self.seq_of[mid] = seq
        self.last_seq = seq

    @rule(batch=st.lists(pushed, min_size=1, max_size=4))
    def push(self, batch: list[tuple[str | None, int, bool]]) -> None:
        base = self.last_seq + 1
        mutations = []
        for mid, offset, ok in batch:
            seq = max(1, base + offset)
            name = f"phone {uuid.uuid4().hex[:6]}" if ok else ""
            mutations.append(
                {
                    "id": mid or uuid.uuid4().hex,
                    "seq": seq,
                    "name": "profile.update",
                    "args": {"display_name": name},
                }
            )
        body = {"client_id": self.client_id, "protocol": 1, "mutations": mutations}
        reply = self._run(self.http.post("/sync/v1/push", json=body, headers=self.headers))
        assert reply.status_code == 200, reply.text
        results = reply.json()["results"]
        ordered = sorted(mutations, key=lambda m: m["seq"])
        assert len(results) == len(ordered)
        gap = None
        for m, r in zip(ordered, results, strict=True):
            assert (r["id"], r["seq"]) == (m["id"], m["seq"]), "a result names another mutation"
            expected = self._expected(m["id"], m["seq"])
            if expected is None:  # new id at the next seq: it ran
                ok = m["args"]["display_name"] != ""
                assert r["status"] == ("applied" if ok else "rejected"), r
                self.applied += ok
                self._ack(m["seq"], m["id"], r)
                continue
            assert r["status"] == expected["status"], (m, r, expected)
            if expected["status"] == "duplicate":
                original = expected["original"]
                assert r["original_status"] == original["status"]
                assert r.get("data") == original.get("data"), "a duplicate carried another result"
                assert r.get("code") == original.get("code")
            else:
                assert r["code"] == expected["code"], (m, r)
                if "data" in expected:
                    assert r["data"] == expected["data"]
            if r.get("code") == "seq_gap":
                gap = self.last_seq + 1
        assert reply.json()["last_applied_seq"] == self.last_seq
        assert reply.json()["expected_seq"] == gap

    @rule()
    def a_new_mutation_at_the_next_seq_applies(self) -> None:
        mid, seq = uuid.uuid4().hex, self.last_seq + 1
        args = {"display_name": f"next {uuid.uuid4().hex[:6]}"}
        body = {
            "client_id": self.client_id,
            "protocol": 1,
            "mutations": [
                {
                    "id": mid,
                    "seq": seq,
                    "name": "profile.update",
                    "args": args,
                }
            ],
        }
        reply = self._run(self.http.post("/sync/v1/push", json=body, headers=self.headers)).json()
        assert reply["results"][0]["status"] == "applied", "the outbox is wedged"
        self.applied += 1
        self._ack(seq, mid, reply["results"][0])

    @invariant()
    def every_acknowledged_seq_is_stored_once_and_applied_exactly_once(self) -> None:
        async def check() -> None:
            async with self.factory() as session:
                rows = (
                    await session.execute(
                        select(SyncMutation.seq, SyncMutation.mutation_id, SyncMutation.status).where(
                            SyncMutation.client_id == self.client_id
                        )
                    )
                ).all()
            assert sorted(seq for seq, _m, _s in rows) == list(range(1, self.last_seq + 1))
            assert {seq: mid for seq, mid, _s in rows} == {s: mid for s, (mid, _r) in self.stored.items()}
            assert await self._version() - self.version0 == self.applied

        self._run(check())


class World:
    """One app, one signed-in device and one event loop for every run of the machine (each run
    pushes to its own outbox, a fresh ``client_id``)."""

    def __init__(self, app_settings: Any, user_id: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.user_id = user_id
        self.engine = make_engine(app_settings.resolved_database_url)
        self.factory = make_session_factory(self.engine)
        self.http = AsyncTestClient(app=build_app(app_settings))

    async def open(self) -> None:
        await self.http.__aenter__()
        self.headers = await auth_headers(self.http, "field-north", client_id="state-machine")

    async def close(self) -> None:
        await self.http.__aexit__(None, None, None)
        await self.engine.dispose()


def test_every_reuse_of_an_id_or_seq_is_answered_by_the_rule(settings, network):
    world = World(settings, network.user("field-north").id)
    world.loop.run_until_complete(world.open())
    try:
        run_state_machine_as_test(
            lambda: PushIdentity(world),
            settings=hsettings(
                max_examples=15,
                stateful_step_count=10,
                deadline=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
            ),
        )
    finally:
        world.loop.run_until_complete(world.close())
        world.loop.close()
