"""Scope entitlement is worked out on the server from role, organisation and authorisations."""

from __future__ import annotations

from sqlalchemy import update

from backend.catalog import ChannelAuthorisation
from backend.identity.service import load_actor
from sync.scopes import SUPPORT_SCOPE, entitled_scopes


async def _scopes(session_factory, network, username):
    user = network.user(username)
    async with session_factory() as session:
        actor = await load_actor(session, user.id, None)
        return actor, await entitled_scopes(session, actor)


class TestEntitledScopes:
    async def test_distributor_staff_get_their_org_and_authorising_catalogs(self, session_factory, network):
        actor, scopes = await _scopes(session_factory, network, "dist-north")
        suppliers = {network.org("sup-a").id, network.org("sup-b").id}
        assert f"org:{actor.org_id}" in scopes
        assert {s for s in scopes if s.startswith("catalog:")} == {f"catalog:{s}" for s in suppliers}
        assert {"reference", f"user:{actor.user_id}"} <= scopes
        other = network.user("dist-south").org_id
        assert f"org:{other}" not in scopes
        assert SUPPORT_SCOPE not in scopes

    async def test_supplier_staff_get_only_their_own_catalog(self, session_factory, network):
        actor, scopes = await _scopes(session_factory, network, "supplier-a")
        assert {s for s in scopes if s.startswith("catalog:")} == {f"catalog:{actor.org_id}"}

    async def test_support_agents_get_the_agent_only_scope(self, session_factory, network):
        _actor, scopes = await _scopes(session_factory, network, "support")
        assert SUPPORT_SCOPE in scopes
        assert not {s for s in scopes if s.startswith("catalog:")}

    async def test_a_withdrawn_authorisation_drops_the_catalog(self, session_factory, network):
        actor, _ = await _scopes(session_factory, network, "dist-north")
        sup_b = network.org("sup-b").id
        async with session_factory() as session:
            await session.execute(
                update(ChannelAuthorisation)
                .where(
                    ChannelAuthorisation.distributor_id == actor.org_id,
                    ChannelAuthorisation.supplier_id == sup_b,
                )
                .values(active=False)
            )
            await session.commit()
        _actor, scopes = await _scopes(session_factory, network, "dist-north")
        assert f"catalog:{sup_b}" not in scopes
        assert f"catalog:{network.org('sup-a').id}" in scopes
