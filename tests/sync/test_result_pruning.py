"""Pruning of stored push results: old ones go, each client's newest stays, retries stay duplicates."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from backend.db import utcnow
from backend.syncstate import SyncMutation, prune_results
from tests.factories import auth_headers
from tests.sync.helpers import pull_page, wait_for_watermark
from workers.jobs.sync_jobs import JOBS, prune_push_results


def _rename(seq: int, name: str) -> dict:
    return {"id": f"rename-{seq}", "seq": seq, "name": "profile.update", "args": {"display_name": name}}


async def _push(client, headers, mutations, client_id="pruned-phone"):
    body = {"client_id": client_id, "protocol": 1, "mutations": mutations}
    reply = await client.post("/sync/v1/push", json=body, headers=headers)
    assert reply.status_code == 200, reply.text
    return reply.json()


async def _stored_seqs(session_factory, client_id="pruned-phone") -> list[int]:
    async with session_factory() as session:
        rows = await session.execute(
            select(SyncMutation.seq).where(SyncMutation.client_id == client_id).order_by(SyncMutation.seq)
        )
        return list(rows.scalars())


async def _age(session_factory, days: int, client_id="pruned-phone") -> None:
    async with session_factory() as session:
        await session.execute(
            update(SyncMutation)
            .where(SyncMutation.client_id == client_id)
            .values(applied_at=utcnow() - timedelta(days=days))
        )
        await session.commit()


async def test_old_results_go_but_each_clients_newest_stays(client, network, session_factory, settings):
    assert "prune_push_results" in [j.name for j in JOBS]
    h = await auth_headers(client, "field-north")
    await _push(client, h, [_rename(n, f"Name {n}") for n in range(1, 6)])
    await _push(client, h, [_rename(1, "Other phone")], client_id="other-phone")
    await _age(session_factory, 40)
    await _age(session_factory, 40, client_id="other-phone")

    outcome = await prune_push_results(session_factory, settings)

    assert outcome == {"deleted": 4}
    assert await _stored_seqs(session_factory) == [5]
    assert await _stored_seqs(session_factory, "other-phone") == [1]
    # Nothing is left to prune: the next run is a no-op.
    assert (await prune_push_results(session_factory, settings)) == {"deleted": 0}


async def test_recent_results_are_kept(client, network, session_factory, settings):
    h = await auth_headers(client, "field-north")
    await _push(client, h, [_rename(n, f"Name {n}") for n in range(1, 4)])
    await _age(session_factory, 29)
    assert (await prune_push_results(session_factory, settings)) == {"deleted": 0}
    assert await _stored_seqs(session_factory) == [1, 2, 3]


async def test_a_retry_of_a_pruned_mutation_is_still_a_duplicate_and_nothing_runs_again(
    phone, client, network, session_factory, settings
):
    field = await phone("field-north", client_id="pruned-phone")
    await _push(client, field.headers, [_rename(1, "First"), _rename(2, "Second")])
    await _age(session_factory, 40)
    await prune_push_results(session_factory, settings)
    assert await _stored_seqs(session_factory) == [2]

    replay = {**_rename(1, "First"), "args": {"display_name": "Replayed"}}
    reply = await _push(client, field.headers, [replay])

    assert [r["status"] for r in reply["results"]] == ["duplicate"]
    assert reply["results"][0].get("original_status") is None  # its stored result is gone
    assert reply["last_applied_seq"] == 2
    me = (await client.get("/me", headers=field.headers)).json()
    assert me["user"]["display_name"] == "Second"
    # A pull still reports the newest acknowledged seq: it never goes backwards.
    await wait_for_watermark(session_factory)
    page = await pull_page(field, client_id="pruned-phone")
    assert page["last_applied_seq"] == 2


async def test_pruning_walks_in_chunks(client, network, session_factory):
    h = await auth_headers(client, "field-north")
    await _push(client, h, [_rename(n, f"Name {n}") for n in range(1, 8)])
    await _age(session_factory, 40)
    async with session_factory() as session:
        first = await prune_results(session, utcnow() - timedelta(days=30), chunk=4)
        second = await prune_results(session, utcnow() - timedelta(days=30), chunk=4)
        await session.commit()
    assert (first, second) == (4, 2)
    assert await _stored_seqs(session_factory) == [7]
