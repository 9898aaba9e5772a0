"""The conflict policies, end to end through push and pull (DESIGN §3's table)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backend.db import new_id, utcnow
from backend.identity.service import load_actor
from backend.inspections import create_template
from backend.inventory.models import StockLevel
from backend.messaging import service as messaging
from backend.messaging.models import Message
from tests.inspections.test_inspections import QUESTIONS, hlc
from tests.sync.helpers import server_view


def _rows(phone, entity):
    return {i: d for (_s, e, i), (_v, d) in phone.rows().items() if e == entity}


class TestOrders:
    async def test_draft_lines_merge_then_the_state_machine_decides(self, phone, network, session_factory):
        a, b = (
            await phone("dist-north", client_id="tablet-a"),
            await phone("dist-north", client_id="tablet-b"),
        )
        supplier = await phone("supplier-a")
        p1, p2 = network.products["A-00001"].id, network.products["A-00002"].id
        order_id = new_id()
        a.mutate(
            "order.create",
            {
                "id": order_id,
                "kind": "purchase",
                "supplier_id": network.org("sup-a").id,
                "lines": [{"product_id": p1, "qty": 2}],
            },
        )
        await a.sync()
        await b.pull()
        assert order_id in _rows(b, "order")
        # Offline, each tablet edits a different line; both edits stand.
        a.mutate("order.update_line", {"order_id": order_id, "product_id": p1, "qty": 3})
        b.mutate("order.update_line", {"order_id": order_id, "product_id": p2, "qty": 5})
        await b.push()
        await a.push()
        await a.pull()
        lines = {
            d["product_id"]: d["qty"] for d in _rows(a, "order_line").values() if d["order_id"] == order_id
        }
        assert lines == {p1: 3, p2: 5}
        # After submission a stale draft edit is a conflict carrying the server's state.
        a.mutate("order.submit", {"order_id": order_id})
        await a.push()
        late = b.mutate("order.update_line", {"order_id": order_id, "product_id": p2, "qty": 9})
        await b.push()
        result = b.result(late)
        assert (result["status"], result["code"]) == ("conflict", "order_not_editable")
        assert result["data"]["server"]["state"] == "submitted"
        # The seller moves it on; the buyer cannot confirm its own order.
        own = a.mutate("order.confirm", {"order_id": order_id})
        supplier.mutate("order.confirm", {"order_id": order_id})
        await a.push()
        await supplier.push()
        assert a.result(own)["status"] == "rejected" and a.result(own)["code"] == "forbidden"
        await b.pull()
        assert _rows(b, "order")[order_id]["state"] == "confirmed"
        assert b.rows() == await server_view(session_factory, network.user("dist-north").id)

    async def test_acceptance_first_submitted_wins(self, phone, network):
        buyer_a, buyer_b = await phone("dist-north", client_id="a"), await phone("dist-north", client_id="b")
        seller = await phone("supplier-a")
        product = network.products["A-00001"].id
        order_id, delivery_id = new_id(), new_id()
        buyer_a.mutate(
            "order.create",
            {
                "id": order_id,
                "kind": "purchase",
                "supplier_id": network.org("sup-a").id,
                "lines": [{"product_id": product, "qty": 4}],
            },
        )
        buyer_a.mutate("order.submit", {"order_id": order_id})
        await buyer_a.push()
        seller.mutate("order.confirm", {"order_id": order_id})
        seller.mutate("order.ship", {"order_id": order_id, "delivery_id": delivery_id})
        await seller.push()
        assert all(r["status"] == "applied" for r in seller.results().values())
        lines = [{"product_id": product, "accepted": 4}]
        first = buyer_b.mutate(
            "acceptance.record", {"id": new_id(), "delivery_id": delivery_id, "lines": lines}
        )
        second = buyer_a.mutate(
            "acceptance.record",
            {"id": new_id(), "delivery_id": delivery_id, "lines": [{**lines[0], "accepted": 3, "short": 1}]},
        )
        await buyer_b.push()
        await buyer_a.push()
        assert buyer_b.result(first)["status"] == "applied"
        conflict = buyer_a.result(second)
        assert (conflict["status"], conflict["code"]) == ("conflict", "acceptance_exists")
        assert conflict["data"]["server"]["id"] == buyer_b.result(first)["data"]["acceptance_id"]
        await buyer_a.pull()
        assert _rows(buyer_a, "order")[order_id]["state"] == "delivered"


class TestFacts:
    async def test_stock_checks_the_latest_observation_becomes_the_level(
        self, phone, network, session_factory
    ):
        field = await phone("dist-north")
        dist, product = network.user("dist-north").org_id, network.products["A-00001"].id
        now = utcnow()
        later, earlier = new_id(), new_id()
        field.mutate(
            "stock_check.record",
            {
                "id": later,
                "org_id": dist,
                "product_id": product,
                "counted_qty": 7,
                "observed_at": now.isoformat(),
            },
        )
        field.mutate(
            "stock_check.record",
            {
                "id": earlier,
                "org_id": dist,
                "product_id": product,
                "counted_qty": 40,
                "observed_at": (now - timedelta(hours=2)).isoformat(),
            },
        )
        await field.push(lose_reply=True)
        await field.push()  # the retry: both are duplicates, nothing counted twice
        assert {r["status"] for r in field.results().values()} == {"applied"}
        async with session_factory() as session:
            level = (
                await session.execute(
                    select(StockLevel).where(
                        StockLevel.product_id == product, StockLevel.distributor_id == dist
                    )
                )
            ).scalar_one()
        assert (level.counted_qty, level.last_check_id) == (7, later)

    async def test_messages_are_idempotent_on_the_client_message_id(self, phone, network, session_factory):
        north = await phone("dist-north")
        async with session_factory() as session:
            actor = await load_actor(session, network.user("dist-north").id, None)
            conv = await messaging.create_conversation(
                session, actor, kind="direct", member_ids=[network.user("field-north").id]
            )
            await session.commit()
        client_message_id = new_id()
        args = {"conversation_id": conv.id, "client_message_id": client_message_id, "body": "Truck at 9"}
        first, again = north.mutate("message.send", args), north.mutate("message.send", args)
        await north.sync()
        assert north.result(first)["data"] == north.result(again)["data"]  # the same message
        async with session_factory() as session:
            sent = (
                (await session.execute(select(Message).where(Message.conversation_id == conv.id)))
                .scalars()
                .all()
            )
        assert [m.body for m in sent] == ["Truck at 9"]
        assert f"conv:{conv.id}" in north.scopes()


class TestInspections:
    async def test_answers_last_writer_wins_by_hlc_then_frozen(self, phone, network, session_factory):
        async with session_factory() as session:
            staff = await load_actor(session, network.user("dist-north").id, None)
            template = await create_template(
                session, staff, owner_id=network.org("dist-00").id, title="Shelf audit", questions=QUESTIONS
            )
            await session.commit()
        a, b = await phone("inspector-north", client_id="a"), await phone("inspector-north", client_id="b")
        inspection_id = new_id()
        a.mutate(
            "inspection.start",
            {"id": inspection_id, "terminal_id": network.org("shop-001").id, "template_id": template.id},
        )
        await a.push()

        def answer(p, qid, value, ms, node):
            return p.mutate(
                "inspection.answer",
                {"inspection_id": inspection_id, "question_id": qid, "value": value, "hlc": hlc(ms, 0, node)},
            )

        newer = answer(a, "facings", 8, 2_000, "a")  # later clock, pushed first
        older = answer(b, "facings", 3, 1_000, "b")  # earlier clock, arrives last: loses
        await a.push()
        await b.push()
        assert a.result(newer)["data"]["kept"] == "client"
        assert b.result(older)["status"] == "applied"
        assert (b.result(older)["data"]["kept"], b.result(older)["data"]["value"]) == ("server", 8)
        for qid, value in (("clean", True), ("placement", "low")):
            answer(a, qid, value, 3_000, "a")
        a.mutate("inspection.submit", {"inspection_id": inspection_id})
        await a.push()
        assert {r["status"] for r in a.results().values()} == {"applied"}
        late = answer(b, "facings", 50, 9_000, "b")
        await b.sync()
        result = b.result(late)
        assert (result["status"], result["code"]) == ("conflict", "inspection_frozen")
        answers = {d["question_id"]: d["value"] for d in _rows(b, "inspection_answer").values()}
        assert answers["facings"] == 8
