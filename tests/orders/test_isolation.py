"""Isolation: a distributor or supplier never sees or changes another's orders, deliveries,
acceptances or claims (and suppliers never see distributors' sales to terminals)."""

from __future__ import annotations

import pytest

from backend.acceptance import service as acceptance
from backend.errors import DomainError
from backend.orders import service as orders
from tests.orders.kit import bring_to, cast_of, mirror_cast_of, purchase, sale


async def _world(session, cast) -> dict[str, set[str]]:
    """A draft, and a purchase and a sale each delivered with a discrepancy; their ids by entity."""
    ids: dict[str, set[str]] = {"order": set(), "delivery": set(), "acceptance": set(), "claim": set()}
    ids["order"].add((await purchase(session, cast)).id)
    for make in (purchase, sale):
        order = await bring_to(session, cast, await make(session, cast), "shipped")
        delivery = next(
            d
            for d in (await orders.list_deliveries(session, cast["admin"], limit=500)).items
            if d.order_id == order.id
        )
        lines = await orders.delivery_lines(session, delivery.id)
        items = [{"delivery_line_id": x.id, "accepted": x.qty - 1, "short": 1} for x in lines]
        record = await acceptance.record_acceptance(
            session, cast["inspector"], acceptance_id=None, delivery_id=delivery.id, lines=items
        )
        ids["order"].add(order.id)
        ids["delivery"].add(delivery.id)
        ids["acceptance"].add(record.id)
    ids["claim"] = {c.id for c in (await acceptance.list_claims(session, cast["dist_staff"])).items}
    assert len(ids["claim"]) == 2
    return ids


async def _visible(session, actor) -> dict[str, set[str]]:
    return {
        "order": {o.id for o in (await orders.list_orders(session, actor, limit=500)).items},
        "delivery": {d.id for d in (await orders.list_deliveries(session, actor, limit=500)).items},
        "acceptance": {a.id for a in (await acceptance.list_acceptances(session, actor, limit=500)).items},
        "claim": {c.id for c in (await acceptance.list_claims(session, actor, limit=500)).items},
    }


GETTERS = {
    "order": (orders.get_order, "order_id", "order_not_found"),
    "delivery": (orders.get_delivery, "delivery_id", "delivery_not_found"),
    "acceptance": (acceptance.get_acceptance, "acceptance_id", "acceptance_not_found"),
    "claim": (acceptance.get_claim, "claim_id", "claim_not_found"),
}


async def test_isolation_across_distributors_and_suppliers(session, network):
    north, south = cast_of(network), mirror_cast_of(network)
    worlds = {"north": await _world(session, north), "south": await _world(session, south)}
    for name, cast in (("north", north), ("south", south)):
        mine, theirs = worlds[name], worlds["south" if name == "north" else "north"]
        own_distributor = await _visible(session, cast["dist_staff"])
        own_supplier = await _visible(session, cast["supplier"])
        for entity in mine:
            assert own_distributor[entity] == mine[entity], entity
            # The supplier sees the purchase side only: one sale of each entity stays hidden.
            assert own_supplier[entity] < mine[entity], entity
            assert not own_distributor[entity] & theirs[entity] and not own_supplier[entity] & theirs[entity]
        for outsider in ("other_dist", "other_supplier", "support"):
            seen = await _visible(session, cast[outsider])
            for entity in mine:
                assert not seen[entity] & mine[entity], (outsider, entity)
                getter, key, code = GETTERS[entity]
                for row_id in mine[entity]:
                    with pytest.raises(DomainError) as err:
                        await getter(session, cast[outsider], **{key: row_id})
                    assert err.value.code == code


async def test_outsiders_cannot_change_anothers_orders(session, network):
    north = cast_of(network)
    draft = await purchase(session, north)
    submitted = await bring_to(session, north, await purchase(session, north), "submitted")
    shipped = await bring_to(session, north, await sale(session, north), "shipped")
    delivery = next(
        d for d in (await orders.list_deliveries(session, north["admin"])).items if d.order_id == shipped.id
    )
    attempts = [
        lambda a: orders.set_line(session, a, order_id=draft.id, product_id=north.product("dairy"), qty=1),
        lambda a: orders.submit_order(session, a, order_id=draft.id),
        lambda a: orders.cancel_order(session, a, order_id=submitted.id),
        lambda a: orders.confirm_order(session, a, order_id=submitted.id),
        lambda a: orders.reject_order(session, a, order_id=submitted.id, reason="x"),
        lambda a: acceptance.record_acceptance(session, a, delivery_id=delivery.id, lines=[]),
    ]
    for outsider in ("other_dist", "other_supplier", "support"):
        for attempt in attempts:
            with pytest.raises(DomainError) as err:
                await attempt(north[outsider])
            assert err.value.code in ("order_not_found", "delivery_not_found"), outsider
    assert (await orders.get_order(session, north["admin"], order_id=draft.id)).state == "draft"
    assert (await orders.get_order(session, north["admin"], order_id=submitted.id)).state == "submitted"


async def test_listing_filters_and_cursor_pagination(session, cast):
    made = [(await purchase(session, cast)).id for _ in range(5)]
    await bring_to(
        session, cast, await orders.get_order(session, cast["admin"], order_id=made[0]), "submitted"
    )
    seen, cursor = [], None
    while True:
        listing = await orders.list_orders(
            session, cast["dist_staff"], kind="purchase", cursor=cursor, limit=2
        )
        seen += [o.id for o in listing.items]
        cursor = listing.next_cursor
        if cursor is None:
            break
    assert seen == sorted(made)
    submitted = await orders.list_orders(session, cast["supplier"], state="submitted")
    assert [o.id for o in submitted.items] == [made[0]]
    for bad in ({"state": "lost"}, {"kind": "gift"}, {"limit": 0}, {"limit": 501}, {"cursor": "x" * 65}):
        with pytest.raises(DomainError):
            await orders.list_orders(session, cast["dist_staff"], **bad)
