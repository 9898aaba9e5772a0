"""Property: owing a list of pushes at once (``enqueue_many``) leaves exactly the outbox that
owing them one call at a time leaves, each call seeing the rows the ones before it wrote.

Random lists over four users (one with chat pushes off, one inside quiet hours, one with an
hour's quiet that has passed, one who never set preferences), the three kinds, collapse keys
shared and not, preferences given by the caller or looked up; the outbox already holds a
pending row to collapse into and a sent one that must not absorb anything. Both ways run from
one committed database on the test's backend and are rolled back.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import event, select

from backend.db import make_engine, make_session_factory
from backend.notifications import PushOutbox, PushPreference
from backend.notifications import service as push

USERS = ("field-north", "inspector-north", "dist-south", "dist-north")
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)

owed = st.fixed_dictionaries(
    {
        "user": st.integers(0, len(USERS) - 1),
        "kind": st.sampled_from(["chat", "chat", "chat", "sync", "alert"]),
        "key": st.sampled_from(["chat:a", "chat:b", "sync", None]),
        "given": st.booleans(),  # the caller passes the preferences it loaded
        "body": st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=5),
    }
)


async def _prepare(factory: Any, network: Any) -> list[str]:
    """Preferences (chat off; quiet now; quiet an hour ago; none) and the rows already owed."""
    ids = [network.user(name).id for name in USERS]
    async with factory() as session, session.begin():
        session.add(PushPreference(user_id=ids[0], chat_enabled=False, timezone="UTC"))
        session.add(
            PushPreference(
                user_id=ids[1],
                chat_enabled=True,
                timezone="Asia/Shanghai",
                quiet_start_min=1140,
                quiet_end_min=1260,
            )
        )
        session.add(
            PushPreference(
                user_id=ids[2], chat_enabled=True, timezone="UTC", quiet_start_min=600, quiet_end_min=660
            )
        )
        earlier = NOW - timedelta(minutes=5)
        for user_id, status in ((ids[1], "pending"), (ids[3], "pending"), (ids[2], "sent")):
            session.add(
                PushOutbox(
                    user_id=user_id,
                    kind="chat",
                    title="before",
                    body="before",
                    data={"seq": "1"},
                    collapse_key="chat:a",
                    status=status,
                    created_at=earlier,
                    available_at=earlier,
                )
            )
    return ids


async def _outbox(
    factory: Any, ids: list[str], program: list[dict[str, Any]], at_once: bool
) -> dict[str, Any]:
    async with factory() as session:
        prefs = {p.user_id: p for p in (await session.execute(select(PushPreference))).scalars()}
        items = [
            push.Owed(
                ids[o["user"]],
                o["kind"],
                title=f"t{i}",
                body=o["body"],
                data={"n": i},
                collapse_key=o["key"],
                preference=prefs.get(ids[o["user"]]) if o["given"] else push._LOOKUP,
            )
            for i, o in enumerate(program)
        ]
        if at_once:
            returned = await push.enqueue_many(session, items, now=NOW)
        else:
            returned = [
                await push.enqueue(
                    session,
                    user_id=o.user_id,
                    kind=o.kind,
                    title=o.title,
                    body=o.body,
                    data=o.data,
                    collapse_key=o.collapse_key,
                    now=NOW,
                    preference=o.preference,
                )
                for o in items
            ]
        await session.flush()
        rows = (await session.execute(select(PushOutbox).order_by(PushOutbox.id))).scalars().all()
        position = {id(r): n for n, r in enumerate(rows)}
        state = {
            "returned": [None if r is None else position[id(r)] for r in returned],
            "rows": [
                {c.key: getattr(r, c.key) for c in PushOutbox.__mapper__.column_attrs if c.key != "id"}
                for r in rows
            ],
        }
        await session.rollback()
    return state


@hsettings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(program=st.lists(owed, min_size=1, max_size=12))
def _example(program: list[dict[str, Any]], ctx: dict[str, Any]) -> None:
    loop, factory, ids = ctx["loop"], ctx["factory"], ctx["ids"]
    one_at_a_time = loop.run_until_complete(_outbox(factory, ids, program, at_once=False))
    at_once = loop.run_until_complete(_outbox(factory, ids, program, at_once=True))
    assert at_once == one_at_a_time


def test_enqueue_many_equals_one_call_at_a_time(settings, network):
    loop = asyncio.new_event_loop()
    engine = make_engine(settings.resolved_database_url)
    try:
        factory = make_session_factory(engine)
        ids = loop.run_until_complete(_prepare(factory, network))
        _example(ctx={"loop": loop, "factory": factory, "ids": ids})
    finally:
        loop.run_until_complete(engine.dispose())
        loop.close()


async def test_a_chat_burst_collapses_into_one_row_per_member(engine, session_factory, network):
    """Thirty chat lines to three offline members: three rows, each counting thirty, in two queries."""
    ids = [network.user(name).id for name in USERS[1:]]
    async with session_factory() as session:
        items = [
            push.Owed(user_id, "chat", title="t", body=f"line {n}", data={"seq": n}, collapse_key="chat:c")
            for n in range(30)
            for user_id in ids
        ]
        statements = []

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                statements.append(statement)

        sync_engine = engine.sync_engine
        event.listen(sync_engine, "before_cursor_execute", count)
        try:
            rows = await push.enqueue_many(session, items, now=NOW)
        finally:
            event.remove(sync_engine, "before_cursor_execute", count)
        assert len(statements) == 2, statements  # the preferences, the pending rows
        await session.flush()
        owed_rows = (await session.execute(select(PushOutbox))).scalars().all()
        assert sorted(r.user_id for r in owed_rows) == sorted(ids)
        assert {r.data["count"] for r in owed_rows} == {"30"}
        assert {r.data["seq"] for r in owed_rows} == {"29"}
        assert len({id(r) for r in rows}) == 3
