"""Goods acceptance: one per delivery, first wins, discrepancies open claims for the supplier."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.acceptance import Claim
from backend.acceptance import service as acceptance
from backend.acceptance.errors import AcceptanceExists
from backend.db import new_id, utcnow
from backend.errors import Conflict, DomainError
from backend.orders import service as orders
from tests.orders.kit import bring_to, full_lines, purchase, sale

SIG = "ab" * 32
PHOTO = "cd" * 32


async def _shipped(session, cast, make=purchase):
    order = await bring_to(session, cast, await make(session, cast), "shipped")
    delivery = (await orders.list_deliveries(session, cast["admin"], state="in_transit")).items
    delivery = next(d for d in delivery if d.order_id == order.id)
    return order, delivery, await orders.delivery_lines(session, delivery.id)


async def test_a_clean_acceptance_delivers_the_order_without_a_claim(session, cast):
    order, delivery, lines = await _shipped(session, cast)
    record = await acceptance.record_acceptance(
        session,
        cast["inspector"],
        acceptance_id=new_id(),
        delivery_id=delivery.id,
        lines=full_lines(lines),
        notes="all good",
        gps=(52.1, 4.3),
        signature_sha256=SIG,
        photo_sha256s=[PHOTO],
        accepted_at=utcnow(),
    )
    assert not record.has_discrepancy and record.gps_lat == 52.1 and record.photo_sha256s == [PHOTO]
    assert (await orders.get_order(session, cast["dist_staff"], order_id=order.id)).state == "delivered"
    assert (await orders.get_delivery(session, cast["supplier"], delivery_id=delivery.id)).state == "accepted"
    assert (await acceptance.list_claims(session, cast["supplier"])).items == []


async def test_discrepancies_open_a_claim_the_supplier_sees(session, cast):
    order, delivery, lines = await _shipped(session, cast)
    first, second = lines
    items = [
        {"delivery_line_id": first.id, "accepted": first.qty - 3, "short": 1, "damaged": 1, "wrong": 1},
        {"product_id": second.product_id, "accepted": second.qty},
    ]
    record = await acceptance.record_acceptance(
        session, cast["inspector"], acceptance_id=None, delivery_id=delivery.id, lines=items
    )
    assert record.has_discrepancy
    claims = (await acceptance.list_claims(session, cast["supplier"], state="open")).items
    assert len(claims) == 1
    claim = claims[0]
    assert (claim.order_id, claim.short_qty, claim.damaged_qty, claim.wrong_qty) == (order.id, 1, 1, 1)
    assert claim.items == [
        {"delivery_line_id": first.id, "product_id": first.product_id, "short": 1, "damaged": 1, "wrong": 1}
    ]
    assert (await acceptance.get_claim(session, cast["dist_staff"], claim_id=claim.id)).id == claim.id
    for outsider in ("other_supplier", "other_dist", "support"):
        assert (await acceptance.list_claims(session, cast[outsider])).items == []
        with pytest.raises(DomainError) as err:
            await acceptance.get_claim(session, cast[outsider], claim_id=claim.id)
        assert err.value.code == "claim_not_found"
    # The buyer may not settle its own claim; the supplier does, once.
    with pytest.raises(DomainError) as err:
        await acceptance.resolve_claim(session, cast["dist_staff"], claim_id=claim.id, resolution="mine")
    assert err.value.code == "forbidden"
    resolved = await acceptance.resolve_claim(
        session, cast["supplier"], claim_id=claim.id, resolution="credit note 7"
    )
    assert resolved.state == "resolved" and resolved.resolved_by == cast["supplier"].user_id
    with pytest.raises(DomainError) as err:
        await acceptance.resolve_claim(session, cast["supplier"], claim_id=claim.id, resolution="again")
    assert err.value.code == "claim_resolved"


async def test_a_second_acceptance_conflicts_with_the_servers_record(session, cast):
    _, delivery, lines = await _shipped(session, cast)
    first = await acceptance.record_acceptance(
        session, cast["inspector"], acceptance_id=new_id(), delivery_id=delivery.id, lines=full_lines(lines)
    )
    # The same acceptance again (a retried upload) returns the stored record.
    again = await acceptance.record_acceptance(
        session, cast["inspector"], acceptance_id=first.id, delivery_id=delivery.id, lines=full_lines(lines)
    )
    assert again.id == first.id
    with pytest.raises(AcceptanceExists) as err:
        await acceptance.record_acceptance(
            session,
            cast["dist_staff"],
            acceptance_id=new_id(),
            delivery_id=delivery.id,
            lines=full_lines(lines),
        )
    assert isinstance(err.value, Conflict) and err.value.code == "acceptance_exists"
    server = err.value.details
    assert server["id"] == first.id and server["delivery_id"] == delivery.id
    assert sorted(x["delivery_line_id"] for x in server["lines"]) == sorted(x.id for x in lines)


async def test_concurrent_acceptances_first_wins(session_factory, network, cast):
    async with session_factory() as s:
        _, delivery, lines = await _shipped(s, cast)
        delivery_id, items = delivery.id, full_lines(lines)
        await s.commit()

    async def accept(who: str) -> str:
        async with session_factory() as s:
            try:
                await acceptance.record_acceptance(
                    s, cast[who], acceptance_id=new_id(), delivery_id=delivery_id, lines=items
                )
                await s.commit()
                return "ok"
            except DomainError as err:
                return err.code

    results = await asyncio.gather(*(accept(w) for w in ("inspector", "dist_staff", "inspector", "admin")))
    assert sorted(results) == ["acceptance_exists"] * 3 + ["ok"]
    async with session_factory() as s:
        assert len((await acceptance.list_acceptances(s, cast["admin"])).items) == 1


async def test_sales_delivery_is_accepted_at_the_terminal(session, cast):
    order, delivery, lines = await _shipped(session, cast, sale)
    items = [{"delivery_line_id": x.id, "accepted": x.qty - 1, "damaged": 1} for x in lines]
    await acceptance.record_acceptance(
        session, cast["field"], acceptance_id=None, delivery_id=delivery.id, lines=items
    )
    assert (await orders.get_order(session, cast["field"], order_id=order.id)).state == "delivered"
    claim = (await acceptance.list_claims(session, cast["dist_staff"])).items[0]
    assert claim.kind == "sales" and claim.terminal_id == cast.terminal.id
    assert (
        await acceptance.list_claims(session, cast["supplier"])
    ).items == []  # suppliers see purchases only


async def test_bad_acceptances_are_refused(session, cast):
    _, delivery, lines = await _shipped(session, cast)
    first, second = lines
    ok_second = {"delivery_line_id": second.id, "accepted": second.qty}
    cases = [
        ([{"delivery_line_id": first.id, "accepted": first.qty + 1}, ok_second], "invalid_acceptance"),
        ([{"delivery_line_id": first.id, "accepted": first.qty - 1}, ok_second], "invalid_acceptance"),
        (
            [{"delivery_line_id": first.id, "accepted": -1, "short": first.qty + 1}, ok_second],
            "invalid_acceptance",
        ),
        ([ok_second], "invalid_acceptance"),
        ([ok_second, ok_second], "invalid_acceptance"),
        ([{"delivery_line_id": "nope", "accepted": 1}, ok_second], "invalid_acceptance"),
        (["not an object"], "invalid_acceptance"),
    ]
    for items, code in cases:
        with pytest.raises(DomainError) as err:
            await acceptance.record_acceptance(
                session, cast["inspector"], acceptance_id=None, delivery_id=delivery.id, lines=items
            )
        assert err.value.code == code, items
    good = full_lines(lines)
    for kwargs in (
        {"gps": (91.0, 0.0)},
        {"gps": ("x", "y")},
        {"signature_sha256": "XYZ"},
        {"photo_sha256s": ["short"]},
        {"accepted_at": utcnow() + timedelta(hours=2)},
        {"accepted_at": utcnow().replace(tzinfo=None)},
        {"notes": "x" * (acceptance.MAX_NOTES + 1)},
    ):
        with pytest.raises(DomainError) as err:
            await acceptance.record_acceptance(
                session, cast["inspector"], acceptance_id=None, delivery_id=delivery.id, lines=good, **kwargs
            )
        assert err.value.code == "invalid_acceptance", kwargs
    with pytest.raises(DomainError) as err:
        await acceptance.record_acceptance(
            session, cast["inspector"], acceptance_id="bad", delivery_id=delivery.id, lines=good
        )
    assert err.value.code == "invalid_id"
    with pytest.raises(DomainError) as err:
        await acceptance.record_acceptance(session, cast["inspector"], delivery_id="0" * 32, lines=good)
    assert err.value.code == "delivery_not_found"
    # Nothing was written by the refusals.
    assert (await session.execute(select(Claim))).first() is None
    assert (
        await orders.get_delivery(session, cast["inspector"], delivery_id=delivery.id)
    ).state == "in_transit"
