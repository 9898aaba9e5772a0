"""Support conversations: the queue, claim/assign/transfer/resolve/reopen, notes, SLA escalation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.changefeed import ChangeLog
from backend.db import utcnow
from backend.identity import service as identity
from backend.messaging import SUPPORT_SCOPE, Conversation, service, support
from backend.messaging import errors as merr
from backend.notifications import PushOutbox
from backend.orders.models import Order
from tests.factories import Network
from tests.messaging.helpers import actor
from workers.jobs.messaging_jobs import escalate_support_breaches


async def test_support_lifecycle_notes_and_escalation(session_factory, settings, network: Network) -> None:
    customer, agent = actor(network, "dist-north"), actor(network, "support")
    async with session_factory() as s, s.begin():
        second = await identity.create_user(
            s,
            org_id=agent.org_id,
            username="support-2",
            display_name="Second Agent",
            role="support_agent",
            password="fieldsync-demo",
        )
        conv = await support.open_support_conversation(
            s, customer, subject="Short delivery", body="We got 10 cases less", client_message_id="s1"
        )
        again = await support.open_support_conversation(
            s, customer, conversation_id=conv.id, subject="Short delivery", body="x", client_message_id="s1"
        )
        assert again.id == conv.id
    agent2 = actor(network, "support")
    agent2 = type(agent2)(
        user_id=second.id, org_id=agent.org_id, org_kind=agent.org_kind, role="support_agent"
    )

    async with session_factory() as s, s.begin():
        [item] = await support.queue(s, agent)
        assert (item.conversation.status, item.customer_name, item.unread) == ("waiting", "Dist North", 1)
        assert 0 < item.first_response_left_s <= settings.support_first_response_s
        with pytest.raises(merr.NotAnAgent):
            await support.queue(s, customer)
        with pytest.raises(merr.NotAMember):  # agents claim before they write
            await service.send_message(s, agent, conversation_id=conv.id, client_message_id="a", body="hi")
        await support.claim(s, agent, conv.id)
        with pytest.raises(merr.InvalidTransition):
            await support.claim(s, agent2, conv.id)
        note = await support.add_note(s, agent, conv.id, body="Check the driver's manifest")
        await support.reply(s, agent, conv.id, body="Looking into it", client_message_id="r1")
        await support.assign(s, agent, conv.id, agent_id=agent2.user_id)  # transfer
        with pytest.raises(merr.NotAMember):
            await support.reply(s, agent, conv.id, body="still me?", client_message_id="r2")
        await support.resolve(s, agent2, conv.id)
    async with session_factory() as s, s.begin():
        row = await s.get(Conversation, conv.id)
        assert (row.status, row.assignee_id) == ("resolved", agent2.user_id)
        assert row.first_response_at is not None and row.waiting_since is None
        assert await service.member_conversation_ids(s, agent.user_id) == []
        # The customer writing again reopens it for the same agent.
        await service.send_message(
            s, customer, conversation_id=conv.id, client_message_id="s2", body="Any news?"
        )
        row = await s.get(Conversation, conv.id)
        assert row.status == "claimed" and row.waiting_since is not None
        await support.resolve(s, agent2, conv.id)
        await support.reopen(s, agent2, conv.id)
        with pytest.raises(merr.InvalidTransition):
            await support.reopen(s, agent2, conv.id)
        # Notes: agents only, and only ever in the agents' scope of the change feed.
        with pytest.raises(merr.NotAnAgent):
            await support.notes(s, customer, conv.id)
        assert [n.body for n in await support.notes(s, agent2, conv.id)] == ["Check the driver's manifest"]
        note_scopes = set(
            (await s.execute(select(ChangeLog.scope).where(ChangeLog.entity_id == note.id))).scalars()
        )
        assert note_scopes == {SUPPORT_SCOPE}
        supplier_id = network.org("sup-a").id
        for org_id, state in ((customer.org_id, "submitted"), (actor(network, "dist-south").org_id, "draft")):
            s.add(
                Order(
                    kind="purchase",
                    distributor_id=org_id,
                    supplier_id=supplier_id,
                    created_by="x",
                    state=state,
                )
            )
        await s.flush()
        context = await support.customer_context(s, agent2, conv.id)
        assert context["organisation"]["id"] == customer.org_id
        assert [o["state"] for o in context["recent_orders"]] == ["submitted"]
        assert context["open_discrepancies"] == []

    # First-response target: a fresh conversation past its deadline escalates once.
    async with session_factory() as s, s.begin():
        late = await support.open_support_conversation(
            s, actor(network, "field-north"), subject="App crash", body="It crashes", client_message_id="f1"
        )
        late.first_response_due_at = utcnow() - timedelta(seconds=1)
    assert await escalate_support_breaches(session_factory, settings) == [late.id]
    assert await escalate_support_breaches(session_factory, settings) == []
    async with session_factory() as s:
        alerts = list((await s.execute(select(PushOutbox).where(PushOutbox.kind == "alert"))).scalars())
        assert [a.user_id for a in alerts] == [network.user("admin").id]
        [item] = [i for i in await support.queue(s, agent) if i.conversation.id == late.id]
        assert item.conversation.escalated_at is not None and item.first_response_left_s < 0
