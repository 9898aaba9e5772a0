"""The support desk's rules on both databases: routing with presence and capacity, views and
counts, search kept in step with every write path, macros, merge, business-hours SLA with a
frozen clock and escalation to the team lead, CSAT, reports, order numbers, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from backend.identity import User
from backend.identity import service as identity
from backend.messaging import (
    Conversation,
    SupportNote,
    desk,
    desk_chat,
    presence,
    reports,
    search,
    service,
    sla,
    support,
    views,
)
from backend.messaging.desk_models import CsatRating, SlaBreach
from backend.messaging.models import Message
from backend.notifications import PushOutbox
from tests.factories import Network, auth_headers
from tests.messaging.helpers import actor

WEEKDAYS_9_TO_18 = {str(d): [[9 * 60, 18 * 60]] for d in range(5)}


async def _second_agent(s, network: Network):
    agent = actor(network, "support")
    user = await identity.create_user(
        s, org_id=agent.org_id, username="support-2", display_name="Second Agent",
        role="support_agent", password="fieldsync-demo",
    )  # fmt: skip
    return type(agent)(user_id=user.id, org_id=agent.org_id, org_kind=agent.org_kind, role=user.role)


async def test_round_robin_respects_presence_and_capacity(session_factory, network: Network) -> None:
    a1, admin = actor(network, "support"), actor(network, "admin")
    north, south = actor(network, "dist-north"), actor(network, "dist-south")
    async with session_factory() as s, s.begin():
        a2 = await _second_agent(s, network)
        for a in (a1, a2):
            await presence.connected(s, user_id=a.user_id, node_id="test")
        await desk.configure_agent(s, admin, a1.user_id, capacity=2, team_id=None)
        await desk.configure_agent(s, admin, a2.user_id, capacity=1, team_id=None)
        await desk.set_status(s, a1, "online")
        await desk.set_status(s, a2, "busy")  # busy: never offered a ticket
        opened = []
        for i, who in enumerate([north, south, north, south]):
            conv = await support.open_support_conversation(
                s, who, subject=f"Ticket {i}", body=f"question {i}", client_message_id=f"rr{i}"
            )
            opened.append(conv)
        assert [c.assignee_id for c in opened] == [a1.user_id, a1.user_id, None, None]  # a1 full at 2
        # a2 comes online: the oldest queued ticket is offered to them, up to their capacity.
        await desk.set_status(s, a2, "online")
        assert [c.assignee_id for c in opened] == [a1.user_id, a1.user_id, a2.user_id, None]
        # a1 resolves one: the last queued ticket is re-offered to a1, who has room again.
        await support.resolve(s, a1, opened[0].id)
        assert opened[3].assignee_id == a1.user_id
        # An agent online without a live console gets nothing.
        await presence.forget_node(s, "test")
        conv = await support.open_support_conversation(
            s, north, subject="Later", body="no one connected", client_message_id="rr9"
        )
        assert conv.assignee_id is None
        # Views and counts come from one predicate: the counts equal the lengths of the lists.
        f = views.Filters()
        counts = await views.counts(s, a1, f, sla.now())
        for view in views.VIEWS:
            rows = await views.tickets(s, a1, view=view, limit=200)
            assert counts[view] == len(rows), view
        assert counts["open"] + counts["pending"] + counts["snoozed"] + counts["resolved"] == counts["all"]
        # Snoozing moves a ticket from open to snoozed; the customer writing wakes it.
        desk.snooze(s, conv, sla.now() + timedelta(hours=2))
        await s.flush()
        assert (await views.counts(s, a1, f, sla.now()))["snoozed"] == 1
        await service.send_message(s, north, conversation_id=conv.id, client_message_id="rr10", body="hello?")
        assert (await views.counts(s, a1, f, sla.now()))["snoozed"] == 0
        # The header's unread equals the sum of the rows' unread (the agent's own tickets).
        counts = await views.counts(s, a1, f, sla.now())
        rows = await views.tickets(s, a1, view="all", limit=200)
        assert counts["unread"] == sum(r.unread or 0 for r in rows if r.conversation.status != "resolved")
        mine = await views.tickets(s, a1, view="all", filters=views.Filters(assignee="me"), limit=200)
        assert {r.conversation.id for r in mine} == {opened[0].id, opened[1].id, opened[3].id}


async def test_search_finds_a_chinese_word_inside_a_run(session_factory, network: Network) -> None:
    """CJK bigrams: a two-character word is found inside a longer run of characters, on both
    databases, through a send, the batched writer and an edit; a mere pair of its characters
    that is not adjacent in the text is not a hit."""
    north = actor(network, "dist-north")
    async with session_factory() as s, s.begin():
        first = await support.open_support_conversation(
            s, north, subject="冷柜故障报修", body="我们店的冷柜昨天晚上突然不制冷了", client_message_id="zh1"
        )
        await service.send_messages(
            s, [service.SendRequest(north, first.id, "zh2", "订单PO-2026-000123还没有发货，请尽快处理")]
        )
    async with session_factory() as s, s.begin():
        hits = await search.search(s, "冷柜")  # inside 我们店的冷柜昨天晚上… and 冷柜故障报修
        assert [h.message_id is None for h in hits] == [True, False]
        assert search.MARK_START + "冷柜" + search.MARK_END in hits[1].snippet
        assert search.MARK_START + "冷柜" + search.MARK_END in hits[0].snippet  # the subject
        assert [h.seq for h in await search.search(s, "发货")] == [2]  # after Latin and digits
        assert await search.search(s, "不制冷")  # three characters: a phrase of two bigrams
        assert await search.search(s, "尽快 处理") and await search.search(s, "冷柜 昨天")
        assert not await search.search(s, "冷天")  # both characters are there, not side by side
        assert not await search.search(s, "冷柜 发货")  # not in one message
        [msg] = (await s.execute(select(Message).where(Message.client_message_id == "zh2"))).scalars()
        await service.edit_message(s, north, message_id=msg.id, body="订单已经收到了")
        assert not await search.search(s, "发货") and await search.search(s, "收到")


async def test_search_labels_macro_merge_and_mentions(session_factory, network: Network) -> None:
    a1, north = actor(network, "support"), actor(network, "dist-north")
    async with session_factory() as s, s.begin():
        a2 = await _second_agent(s, network)
        first = await support.open_support_conversation(
            s, north, subject="Broken forklift", body="The forklift battery is dead", client_message_id="m1"
        )
        second = await support.open_support_conversation(
            s, north, subject="Invoice", body="Where is invoice 4471?", client_message_id="m2"
        )
    # The socket's batched writer stores through send_messages: several sends, one transaction.
    async with session_factory() as s, s.begin():
        results = await service.send_messages(
            s,
            [
                service.SendRequest(north, first.id, "m3", "also the pallet jack squeaks"),
                service.SendRequest(north, second.id, "m4", "please resend the invoice"),
            ],
        )
        assert all(isinstance(r, Message) for r in results)
    async with session_factory() as s, s.begin():
        first, second = await s.get(Conversation, first.id), await s.get(Conversation, second.id)
        hits = await search.search(s, "squeaks")
        assert [h.conversation_id for h in hits] == [first.id]
        assert search.MARK_START + "squeaks" + search.MARK_END in hits[0].snippet
        assert {h.conversation_id for h in await search.search(s, "invoice")} == {second.id}
        assert [h.message_id for h in await search.search(s, "forklift")][:1] == [None]  # the subject
        assert await search.search(s, "forklift battery") and not await search.search(s, "forklift invoice")
        assert await search.search(s, "') OR 1=1 --") == []  # nothing reaches the query syntax
        # An edit and a delete keep the index in step.
        [msg] = [
            m for m in (await s.execute(select(Message).where(Message.client_message_id == "m3"))).scalars()
        ]
        await service.edit_message(s, north, message_id=msg.id, body="the pallet jack rattles")
        assert not await search.search(s, "squeaks") and await search.search(s, "rattles")

        await desk.set_labels(s, first, ["Hardware", "urgent"])
        assert (await desk.labels_of(s, [first.id]))[first.id] == ["hardware", "urgent"]
        macro = await desk.save_macro(
            s, a1, title="Close: sent replacement", reply_body="A replacement is on its way.",
            add_labels=["replacement"], assign_to="me", resolve=True,
        )  # fmt: skip
        await desk.apply_macro(s, a1, first.id, macro.id, client_message_id="macro-1")
        assert first.status == "resolved" and first.assignee_id == a1.user_id
        assert (await desk.labels_of(s, [first.id]))[first.id] == ["hardware", "replacement", "urgent"]
        # Resolving asked for a rating; the customer's "4" records it and does not reopen.
        assert (await s.get(CsatRating, first.id)).rating is None
        await service.send_message(s, north, conversation_id=first.id, client_message_id="m5", body=" 4 ")
        assert (await s.get(CsatRating, first.id)).rating == 4 and first.status == "resolved"
        # Another message reopens as before.
        await service.send_message(s, north, conversation_id=first.id, client_message_id="m6", body="again")
        assert first.status == "claimed"

        note = await support.add_note(s, a1, second.id, body="@support-2 can you check the invoice?")
        assert note.id
        pushes = (await s.execute(select(PushOutbox).where(PushOutbox.user_id == a2.user_id))).scalars().all()
        assert [p.data["note_id"] for p in pushes] == [note.id]
        merged = await desk.merge(s, a1, second.id, first.id)
        assert merged.id == first.id and second.merged_into_id == first.id and second.status == "resolved"
        notes = (
            await s.execute(select(SupportNote.body).where(SupportNote.conversation_id == first.id))
        ).scalars()
        assert any("invoice 4471" in n for n in notes)


async def test_sla_in_business_hours_with_a_frozen_clock(session_factory, network: Network) -> None:
    admin, a1, north = actor(network, "admin"), actor(network, "support"), actor(network, "dist-north")
    friday_1730 = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)  # 17:30 in Shanghai
    try:
        sla.freeze(friday_1730)
        async with session_factory() as s, s.begin():
            await desk.save_team(
                s, admin, name="North desk", lead_id=a1.user_id, timezone="Asia/Shanghai",
                hours=WEEKDAYS_9_TO_18, holidays=[], first_response_s=3600, next_response_s=1800,
                resolution_s=4 * 3600, is_default=True,
            )  # fmt: skip
            conv = await support.open_support_conversation(
                s, north, subject="Late truck", body="Truck is late", client_message_id="sla1"
            )
            # 30 minutes on Friday, 30 on Monday: due Monday 09:30 in Shanghai.
            assert conv.first_response_due_at == datetime(2026, 11, 30, 1, 30, tzinfo=UTC)
            [row] = await views.tickets(s, a1, view="open", ids=[conv.id])
            first = next(c for c in row.clocks if c.target == "first_response")
            assert (first.left_s, first.running, first.breached) == (3600, True, False)
        # Saturday: the clock does not run.
        sla.freeze(datetime(2026, 11, 28, 4, 0, tzinfo=UTC))
        async with session_factory() as s:
            [row] = await views.tickets(s, a1, view="open", ids=[conv.id])
            first = next(c for c in row.clocks if c.target == "first_response")
            assert (first.left_s, first.running) == (1800, False)
        # Monday 10:00: breached by 30 business minutes; the escalation job tells the lead once.
        monday_10 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
        sla.freeze(monday_10)
        async with session_factory() as s, s.begin():
            conv = await s.get(Conversation, conv.id)
            assert await support.escalate_breaches(s) == [conv.id]
            assert await support.escalate_breaches(s) == []
            [row] = await views.tickets(s, a1, view="open", ids=[conv.id])
            first = next(c for c in row.clocks if c.target == "first_response")
            assert first.breached and first.left_s == -1800
            breaches = (await s.execute(select(SlaBreach.target))).scalars().all()
            assert breaches == ["first_response"]
            lead_note = (
                await s.execute(select(SupportNote.body).where(SupportNote.conversation_id == conv.id))
            ).scalar_one()
            assert "@support" in lead_note and "first response" in lead_note
            alerted = set(
                (await s.execute(select(PushOutbox.user_id).where(PushOutbox.kind == "alert"))).scalars()
            )
            assert a1.user_id in alerted and network.user("admin").id in alerted
            # The lead's chat: a direct message from the support desk, in their conversation list.
            [chat] = [v for v in await service.list_conversations(s, a1) if v.conversation.kind == "direct"]
            assert chat.unread == 1
            [dm] = await service.list_messages(s, a1, chat.conversation.id)
            sender = await s.get(User, dm.sender_id)
            assert (sender.username, sender.active) == (desk_chat.DESK_USERNAME, False)
            assert "first response" in dm.body and "Late truck" in dm.body and "首次响应" in dm.body
            assert dm.meta == {"kind": "sla_breach", "conversation_id": conv.id, "target": "first_response"}
            assert desk_chat.DESK_USERNAME not in {a["username"] for a in await desk.agents_overview(s)}
            # The agent answers; the customer writes again: the next-response clock runs (30 min).
            await support.reply(s, a1, conv.id, body="On it", client_message_id="sla2")
            await service.send_message(
                s, north, conversation_id=conv.id, client_message_id="sla3", body="thanks, when?"
            )
            assert conv.next_response_due_at == monday_10 + timedelta(minutes=30)
            await support.resolve(s, a1, conv.id)
            assert conv.next_response_due_at is None and conv.resolution_due_at is None
            await service.send_message(s, north, conversation_id=conv.id, client_message_id="sla4", body="5")
        # Reports hold the database's numbers.
        async with session_factory() as s:
            data = await reports.report(
                s, since=friday_1730 - timedelta(days=1), until=monday_10 + timedelta(days=1), group="agent"
            )
            tickets = await s.scalar(select(func.count()).select_from(SlaBreach))
            assert data["total"]["sla_breaches"] == tickets == 1
            assert data["total"]["tickets"] == 1 and data["total"]["csat_average"] == 5
            rows = {r["key"]: r for r in data["rows"]}
            agent_row = rows[a1.user_id]  # the breach happened while nobody had the ticket: "-"
            assert agent_row["name"] == network.user("support").display_name
            assert (agent_row["tickets"], agent_row["csat_average"], rows["-"]["sla_breaches"]) == (1, 5, 1)
            assert "total" in reports.to_csv(data)
    finally:
        sla.freeze(None)


async def test_report_days_are_days_of_the_team_time_zone(session_factory, network: Network) -> None:
    admin, north = actor(network, "admin"), actor(network, "dist-north")
    before = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 23:30 on 1 December in Shanghai
    after = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)  # 00:30 on 2 December there, 1 December in UTC
    try:
        sla.freeze(before)
        async with session_factory() as s, s.begin():
            await desk.save_team(
                s, admin, name="Shanghai desk", lead_id=None, timezone="Asia/Shanghai",
                hours=WEEKDAYS_9_TO_18, holidays=[], first_response_s=3600, next_response_s=1800,
                resolution_s=4 * 3600, is_default=True,
            )  # fmt: skip
            await support.open_support_conversation(
                s, north, subject="Before midnight", body="late order", client_message_id="tz1"
            )
        sla.freeze(after)
        async with session_factory() as s, s.begin():
            await support.open_support_conversation(
                s, north, subject="After midnight", body="still late", client_message_id="tz2"
            )
        async with session_factory() as s:
            data = await reports.report(
                s, since=before - timedelta(hours=1), until=after + timedelta(hours=1), group="day"
            )
        assert data["timezone"] == "Asia/Shanghai"
        assert [(r["key"], r["tickets"]) for r in data["rows"]] == [("2026-12-01", 1), ("2026-12-02", 1)]
        assert "\n2026-12-02,2026-12-02,1," in reports.to_csv(data)
    finally:
        sla.freeze(None)


async def test_http_inputs_are_bounded(client, network: Network) -> None:
    agent = await auth_headers(client, "support")
    customer = await auth_headers(client, "dist-north")
    bad = [
        ("PUT", "/support/me/status", {"status": "asleep"}, agent, 400),
        ("PUT", "/support/me/status", {"status": "online"}, customer, 403),
        ("GET", "/support/tickets?view=nonsense", None, agent, 400),
        ("GET", "/support/tickets?limit=100000", None, agent, 400),
        ("GET", "/support/search?q=" + "x" * 300, None, agent, 400),
        ("GET", "/support/search?q=invoice", None, customer, 403),
        (
            "POST",
            "/support/teams",
            {"name": "x", "timezone": "Mars/Olympus"},
            await auth_headers(client, "admin"),
            422,
        ),
        ("POST", "/support/teams", {"name": "x"}, agent, 403),
        ("POST", "/support/macros", {"title": "nothing"}, agent, 422),
        ("PUT", "/support/conversations/nope/labels", {"labels": ["a"]}, agent, 404),
        ("GET", "/support/reports?group=week", None, agent, 400),
        ("GET", "/support/orders/0123", None, agent, 404),
    ]
    for method, path, body, headers, status in bad:
        r = await client.request(method, path, json=body, headers=headers)
        assert r.status_code == status, (path, r.status_code, r.text)
        assert "code" in r.json()
    ok = await client.get("/support/tickets?view=all", headers=agent)
    assert ok.status_code == 200 and set(ok.json()["counts"]) == {*views.VIEWS, "unread"}
    # Filters by organisation and region, from the choices the console offers.
    south = await auth_headers(client, "dist-south")
    for who, cid in ((customer, "f1"), (south, "f2")):
        r = await client.post(
            "/support/conversations",
            json={"subject": "Filter me", "body": "x", "client_message_id": cid},
            headers=who,
        )
        assert r.status_code == 201
    choices = (await client.get("/support/filters", headers=agent)).json()
    assert len(choices["organisations"]) == 2 and choices["regions"]
    north_org = network.user("dist-north").org_id
    r = (await client.get(f"/support/tickets?view=all&org={north_org}", headers=agent)).json()
    assert r["counts"]["all"] == len(r["items"]) == 1 and r["items"][0]["organisation_id"] == north_org
    region = r["items"][0]["region_id"]
    r = (await client.get(f"/support/tickets?view=all&region={region}", headers=agent)).json()
    assert {i["region_id"] for i in r["items"]} == {region} and r["counts"]["all"] == len(r["items"])
