"""Property: phones that edit offline, go on and offline, retry and lose replies converge.

Several phones (two of them the same user) run random programs against a real server while
the server's own data changes underneath them (shops renamed, prices moved, a catalog withdrawn
and granted again). At the end every replica equals the server's view of its scopes, every
acknowledged mutation was applied exactly once, and no phone ever held a scope it was not
entitled to at that moment, so never another distributor's data.
"""

from __future__ import annotations

import asyncio
import uuid

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update

from backend.catalog import ChannelAuthorisation, PriceEntry
from backend.db import make_engine, make_session_factory
from backend.identity import Organisation, User
from backend.identity.service import load_actor
from backend.syncstate import SyncMutation
from fieldsync.wiring import build_app
from sync.scopes import entitled_scopes
from tests.sync.helpers import server_view, signed_in_phone

USERS = ["field-north", "field-north", "dist-south", "supplier-a"]

edit = st.tuples(
    st.just("edit"), st.integers(0, len(USERS) - 1), st.sampled_from(["ok", "ok", "bad", "unknown"])
)
push = st.tuples(st.just("push"), st.integers(0, len(USERS) - 1), st.booleans())
pull = st.tuples(st.just("pull"), st.integers(0, len(USERS) - 1), st.sampled_from([7, 50, 500]))
server = st.tuples(st.just("server"), st.sampled_from(["shop", "price", "catalog"]), st.integers(0, 5))
programs = st.lists(st.one_of(edit, edit, edit, push, push, pull, server), min_size=6, max_size=16)


async def _server_write(factory, network, what: str, n: int) -> None:
    async with factory() as session:
        if what == "shop":
            shop = await session.get(Organisation, network.org(f"shop-{n % 12 + 1:03d}").id)
            shop.name = f"Shop renamed {uuid.uuid4().hex[:6]}"
        elif what == "price":
            dist = network.user("dist-north" if n % 2 else "dist-south").org_id
            query = select(PriceEntry).where(PriceEntry.distributor_id == dist).offset(n).limit(1)
            price = (await session.execute(query)).scalar_one()
            price.price_minor += 1
        else:  # withdraw or grant again supplier B's catalog for the north distributor
            dist = network.user("dist-north").org_id
            rows = await session.execute(
                select(ChannelAuthorisation).where(
                    ChannelAuthorisation.distributor_id == dist,
                    ChannelAuthorisation.supplier_id == network.org("sup-b").id,
                )
            )
            for auth in rows.scalars():
                auth.active = not auth.active
        await session.commit()


async def _entitled(factory, user_id: str) -> set[str]:
    async with factory() as session:
        return await entitled_scopes(session, await load_actor(session, user_id, None))


async def _versions(factory, network) -> dict[str, int]:
    async with factory() as session:
        ids = {network.user(u).id for u in USERS}
        rows = await session.execute(select(User.id, User.version).where(User.id.in_(ids)))
        return dict(rows.all())


async def _run(app_settings, network, program) -> None:
    engine = make_engine(app_settings.resolved_database_url)
    factory = make_session_factory(engine)
    try:
        async with AsyncTestClient(app=build_app(app_settings)) as client:
            run = uuid.uuid4().hex[:8]
            phones = [
                await signed_in_phone(client, user, client_id=f"{run}-{i}") for i, user in enumerate(USERS)
            ]
            before = await _versions(factory, network)
            for step in program:
                if step[0] == "edit":
                    _, i, flavour = step
                    if flavour == "ok":
                        phones[i].mutate(
                            "profile.update", {"display_name": f"{USERS[i]} {uuid.uuid4().hex[:4]}"}
                        )
                    elif flavour == "bad":
                        phones[i].mutate("profile.update", {"display_name": ""})
                    else:
                        phones[i].mutate("no.such.mutation", {})
                elif step[0] == "push":
                    await phones[step[1]].push(lose_reply=step[2])
                elif step[0] == "pull":
                    phone = phones[step[1]]
                    await phone.pull(limit=step[2])
                    held = phone.scopes()
                    assert held <= await _entitled(factory, network.user(USERS[step[1]]).id), "a scope leaked"
                else:
                    await _server_write(factory, network, step[1], step[2])

            for phone in phones:  # back online for good: everything goes up, then everyone pulls
                await phone.push_all()
            for i, phone in enumerate(phones):
                await phone.pull()
                user_id = network.user(USERS[i]).id
                assert phone.rows() == await server_view(factory, user_id)

            after = await _versions(factory, network)
            async with factory() as session:
                for phone in phones:
                    stored = (
                        await session.execute(
                            select(SyncMutation.mutation_id, SyncMutation.status).where(
                                SyncMutation.client_id == phone.client_id
                            )
                        )
                    ).all()
                    acknowledged = phone.results()
                    assert {m for m, _s in stored} == set(acknowledged), "a mutation was lost or invented"
                    assert {m: s for m, s in stored} == {m: r["status"] for m, r in acknowledged.items()}
                for user in set(USERS):
                    user_id = network.user(user).id
                    applied = (
                        await session.execute(
                            select(func.count()).where(
                                SyncMutation.user_id == user_id,
                                SyncMutation.client_id.startswith(run),
                                SyncMutation.status == "applied",
                            )
                        )
                    ).scalar_one()
                    assert after[user_id] - before[user_id] == applied, "a mutation applied twice or never"
    finally:
        await engine.dispose()


@hsettings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(program=programs)
def test_phones_converge_exactly_once_and_never_leak(settings, network, program):
    asyncio.run(_run(settings, network, program))


async def test_grant_then_withdraw_restores_a_clean_replica(phone, network, session_factory):
    """The catalog toggled twice: the replica first loses supplier B's catalog, then regains it."""
    field = await phone("field-north")
    await field.pull()
    scope = f"catalog:{network.org('sup-b').id}"
    assert field.rows(scope)
    await _server_write(session_factory, network, "catalog", 0)
    await field.pull()
    assert field.rows(scope) == {}
    await _server_write(session_factory, network, "catalog", 0)
    await field.pull()
    assert field.rows() == await server_view(session_factory, network.user("field-north").id)
    assert field.rows(scope)
    async with session_factory() as session:
        await session.execute(update(ChannelAuthorisation).values(active=True))
        await session.commit()
