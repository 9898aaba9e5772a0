"""Push batching: the change feed written once per batch, savepoints only where needed.

A batch's changes wait in memory and are written at its end (same transaction); a mutation
refused before it wrote anything needs no savepoint of its own; one that failed after writing
makes the engine replay the batch with a savepoint per mutation. None of it may change what a
phone or the log sees.
"""

from __future__ import annotations

from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from backend.changefeed import ChangeLog, ScopeRow
from backend.changefeed.recording import buffer_changes, write_buffered
from backend.identity import User
from backend.syncstate import SyncMutation
from sync.mutations import REGISTRY, Args, mutation
from tests.factories import auth_headers
from tests.sync.test_push import _m, _push  # registers test.write_then_fail

_LOST_RACES: set[str] = set()


class LoseRaceOnce(Args):
    display_name: str


if "test.write_then_lose_race_once" not in REGISTRY:

    @mutation("test.write_then_lose_race_once", LoseRaceOnce)
    async def _write_then_lose_race_once(ctx, args):
        """Renames the caller; the first time, then fails like a deadlock (the batch is retried)."""
        user = await ctx.session.get(User, ctx.actor.user_id)
        user.display_name = args.display_name
        await ctx.session.flush()
        if ctx.mutation_id not in _LOST_RACES:
            _LOST_RACES.add(ctx.mutation_id)
            raise OperationalError("UPDATE users", {}, Exception("database is locked"))
        return {"version": user.version}


async def _user_changes(session_factory, user_id):
    async with session_factory() as session:
        rows = await session.execute(
            select(ChangeLog.scope, ChangeLog.version, ChangeLog.data)
            .where(ChangeLog.entity == "user", ChangeLog.entity_id == user_id)
            .order_by(ChangeLog.id)
        )
        return [(r.scope, r.version, r.data["display_name"]) for r in rows]


async def _baseline(session_factory, user_id):
    return len(await _user_changes(session_factory, user_id))


async def test_a_rejected_mutations_changes_never_reach_the_log(client, network, session_factory):
    user_id = network.user("field-north").id
    before = await _baseline(session_factory, user_id)
    h = await auth_headers(client, "field-north")
    reply = (
        await _push(
            client,
            h,
            [
                _m(1, display_name="First"),
                _m(2, "test.write_then_fail", display_name="Never"),
                _m(3, display_name="Second"),
            ],
        )
    ).json()
    assert [r["status"] for r in reply["results"]] == ["applied", "rejected", "applied"]
    changes = (await _user_changes(session_factory, user_id))[before:]
    assert sorted(name for _s, _v, name in changes) == ["First", "First", "Second", "Second"]
    # One scope row per scope, pointing at the row's last change (written twice in one batch).
    async with session_factory() as session:
        user = await session.get(User, user_id)
        last = dict(
            (
                await session.execute(
                    select(ChangeLog.scope, func.max(ChangeLog.id))
                    .where(ChangeLog.entity == "user", ChangeLog.entity_id == user_id)
                    .group_by(ChangeLog.scope)
                )
            ).all()
        )
        rows = (
            await session.execute(
                select(ScopeRow).where(ScopeRow.entity == "user", ScopeRow.entity_id == user_id)
            )
        ).scalars()
        assert {(r.scope, r.version, r.change_id) for r in rows} == {
            (scope, user.version, change_id) for scope, change_id in last.items()
        }


async def test_a_batch_retried_after_a_lost_race_writes_its_changes_once(client, network, session_factory):
    user_id = network.user("field-north").id
    before = await _baseline(session_factory, user_id)
    h = await auth_headers(client, "field-north")
    reply = (
        await _push(
            client,
            h,
            [
                _m(1, display_name="Before race"),
                _m(2, "test.write_then_lose_race_once", display_name="Raced"),
            ],
        )
    ).json()
    assert [r["status"] for r in reply["results"]] == ["applied", "applied"]
    changes = (await _user_changes(session_factory, user_id))[before:]
    assert sorted(name for _s, _v, name in changes) == ["Before race", "Before race", "Raced", "Raced"]
    async with session_factory() as session:
        stored = (await session.execute(select(func.count()).select_from(SyncMutation))).scalar_one()
    assert stored == 2


class _Savepoints:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, _conn, _cursor, statement, *_args) -> None:
        if statement.startswith("SAVEPOINT"):
            self.count += 1


async def test_a_refusal_before_any_write_needs_no_savepoint_and_a_late_one_replays(client, network):
    h = await auth_headers(client, "field-north")
    savepoints = _Savepoints()
    event.listen(Engine, "before_cursor_execute", savepoints)
    try:
        unknown_order = "0" * 32
        reply = (
            await _push(
                client,
                h,
                [
                    _m(1, display_name="A"),
                    _m(2, "order.submit", order_id=unknown_order),
                    _m(3, display_name="B"),
                ],
            )
        ).json()
        assert [r["status"] for r in reply["results"]] == ["applied", "rejected", "applied"]
        assert savepoints.count == 1  # the batch's own
        savepoints.count = 0
        reply = (
            await _push(
                client, h, [_m(4, display_name="C"), _m(5, "test.write_then_fail", display_name="Never")]
            )
        ).json()
        assert [(r["status"], r.get("code")) for r in reply["results"]] == [
            ("applied", None),
            ("rejected", "test_refused"),
        ]
        assert savepoints.count == 1 + 2  # the batch's, then one per mutation in the replay
    finally:
        event.remove(Engine, "before_cursor_execute", savepoints)


async def test_buffered_changes_follow_savepoints_and_the_transaction(session_factory, network):
    user_id = network.user("field-north").id
    before = await _baseline(session_factory, user_id)
    async with session_factory() as session:
        buffer_changes(session)
        user = await session.get(User, user_id)
        savepoint = await session.begin_nested()
        user.display_name = "Undone"
        await session.flush()
        await savepoint.rollback()
        user = await session.get(User, user_id)
        user.display_name = "Kept"
        await session.flush()
        await write_buffered(session)
        await session.commit()
    assert [n for _s, _v, n in (await _user_changes(session_factory, user_id))[before:]] == ["Kept", "Kept"]
    async with session_factory() as session:
        buffer_changes(session)
        user = await session.get(User, user_id)
        user.display_name = "Rolled back"
        await session.flush()
        await session.rollback()
        assert "fieldsync_change_buffer" not in session.sync_session.info
        await session.commit()
    assert len(await _user_changes(session_factory, user_id)) == before + 2


async def test_a_batch_takes_its_stock_level_locks_first_in_one_order(session_factory, db_url):
    from sqlalchemy import text

    from sync.push_guard import _lock_id, lock_in_order

    names = ["stock_level:b:2", "stock_level:a:1"]
    async with session_factory() as holder, session_factory() as other:
        await lock_in_order(holder, names)
        if not db_url.startswith("postgresql"):
            return  # SQLite serialises writers: nothing is taken
        for name in names:
            taken = (
                await other.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _lock_id(name)})
            ).scalar_one()
            assert taken is False  # held by the batch until its transaction ends
        await holder.rollback()
        free = (
            await other.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _lock_id(names[0])})
        ).scalar_one()
        assert free is True
