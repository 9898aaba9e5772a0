"""Conversations, messages, read markers and their rules, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.changefeed import ChangeLog
from backend.db import utcnow
from backend.messaging import Conversation, ConversationMember, Message, MessageRevision, service
from backend.messaging import errors as merr
from backend.notifications import PushOutbox
from tests.factories import Network
from tests.messaging.helpers import actor

SHA = "ab" * 32


async def _direct(
    sf: async_sessionmaker[AsyncSession], net: Network, a: str = "supplier-a", b: str = "dist-north"
):
    async with sf() as s, s.begin():
        conv = await service.create_conversation(s, actor(net, a), kind="direct", member_ids=[net.user(b).id])
    return conv


async def test_send_is_ordered_idempotent_and_marks_sender_read(session_factory, network: Network) -> None:
    conv = await _direct(session_factory, network)
    sup = actor(network, "supplier-a")
    async with session_factory() as s, s.begin():
        m1 = await service.send_message(s, sup, conversation_id=conv.id, client_message_id="c1", body="hello")
        m2 = await service.send_message(s, sup, conversation_id=conv.id, client_message_id="c2", body="again")
        again = await service.send_message(
            s, sup, conversation_id=conv.id, client_message_id="c1", body="hello"
        )
    assert (m1.seq, m2.seq) == (1, 2)
    assert again.id == m1.id
    async with session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Message)) == 2
        views = {v.conversation.id: v for v in await service.list_conversations(s, sup)}
        assert views[conv.id].unread == 0
        dist_views = await service.list_conversations(s, actor(network, "dist-north"))
        assert dist_views[0].unread == 2
        # both messages are in the conversation's scope of the change feed
        scopes = set(
            (await s.execute(select(ChangeLog.scope).where(ChangeLog.entity == "message"))).scalars()
        )
        assert scopes == {f"conv:{conv.id}"}
        member_scopes = set(
            (
                await s.execute(select(ChangeLog.scope).where(ChangeLog.entity == "conversation_member"))
            ).scalars()
        )
        assert f"user:{network.user('dist-north').id}" in member_scopes


async def test_direct_conversation_is_one_per_pair(session_factory, network: Network) -> None:
    first = await _direct(session_factory, network)
    second = await _direct(session_factory, network, "dist-north", "supplier-a")
    assert first.id == second.id


async def test_outsiders_cannot_read_or_write(session_factory, network: Network) -> None:
    conv = await _direct(session_factory, network)
    other = actor(network, "dist-south")
    async with session_factory() as s:
        with pytest.raises(merr.NotAMember):
            await service.send_message(s, other, conversation_id=conv.id, client_message_id="x", body="hi")
        with pytest.raises(merr.ConversationNotFound):
            await service.list_messages(s, other, conv.id)
        with pytest.raises(merr.ConversationNotFound):
            await service.send_message(s, other, conversation_id="nope", client_message_id="x", body="hi")
        assert await service.member_conversation_ids(s, other.user_id) == []
        assert await service.member_conversation_ids(s, network.user("dist-north").id) == [conv.id]


async def test_distributor_cannot_start_a_chat_with_a_foreign_distributor(session_factory, network) -> None:
    async with session_factory() as s:
        with pytest.raises(merr.CannotContact):
            await service.create_conversation(
                s, actor(network, "dist-north"), kind="direct", member_ids=[network.user("dist-south").id]
            )


async def test_limits_and_bad_input(session_factory, network: Network) -> None:
    conv = await _direct(session_factory, network)
    sup = actor(network, "supplier-a")
    limit = service.policy().message_max_chars
    async with session_factory() as s:
        with pytest.raises(merr.MessageTooLong) as exc:
            await service.send_message(
                s, sup, conversation_id=conv.id, client_message_id="long", body="x" * (limit + 1)
            )
        assert exc.value.code == "message_too_long"
        with pytest.raises(merr.EmptyMessage):
            await service.send_message(s, sup, conversation_id=conv.id, client_message_id="e", body="  ")
        with pytest.raises(merr.InvalidAttachment):
            await service.send_message(
                s, sup, conversation_id=conv.id, client_message_id="a", body="", attachments=["nope"]
            )
        ok = await service.send_message(
            s, sup, conversation_id=conv.id, client_message_id="a", body="", attachments=[SHA.upper()]
        )
        assert ok.attachments == [SHA]


async def test_read_marker_moves_forward_only(session_factory, network: Network) -> None:
    conv = await _direct(session_factory, network)
    sup, dist = actor(network, "supplier-a"), actor(network, "dist-north")
    async with session_factory() as s, s.begin():
        for i in range(3):
            await service.send_message(s, sup, conversation_id=conv.id, client_message_id=f"m{i}", body="x")
    async with session_factory() as s, s.begin():
        assert await service.mark_read(s, dist, conversation_id=conv.id, up_to_seq=2) == 2
        assert await service.mark_read(s, dist, conversation_id=conv.id, up_to_seq=1) == 2
        assert await service.mark_read(s, dist, conversation_id=conv.id, up_to_seq=99) == 3


async def test_edit_and_delete_keep_history_within_the_window(session_factory, network: Network) -> None:
    conv = await _direct(session_factory, network)
    sup, dist = actor(network, "supplier-a"), actor(network, "dist-north")
    async with session_factory() as s, s.begin():
        msg = await service.send_message(s, sup, conversation_id=conv.id, client_message_id="m", body="v1")
        with pytest.raises(merr.NotYourMessage):
            await service.edit_message(s, dist, message_id=msg.id, body="hacked")
        await service.edit_message(s, sup, message_id=msg.id, body="v2")
        await service.delete_message(s, sup, message_id=msg.id)
    async with session_factory() as s, s.begin():
        history = await service.message_history(s, dist, msg.id)
        assert [(r.action, r.body) for r in history] == [("edit", "v1"), ("delete", "v2")]
        stored = await s.get(Message, msg.id)
        assert stored.body == "" and stored.deleted_at is not None
        old = await service.send_message(s, sup, conversation_id=conv.id, client_message_id="old", body="x")
        old.created_at = utcnow() - timedelta(seconds=service.policy().edit_window_s + 1)
        await s.flush()
        with pytest.raises(merr.EditWindowClosed):
            await service.edit_message(s, sup, message_id=old.id, body="late")
    async with session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(MessageRevision)) == 2


async def test_chat_push_owed_to_offline_unmuted_members_and_collapses(session_factory, network) -> None:
    conv = await _direct(session_factory, network)
    sup, dist = actor(network, "supplier-a"), actor(network, "dist-north")
    async with session_factory() as s, s.begin():
        await service.send_message(s, sup, conversation_id=conv.id, client_message_id="1", body="one")
        await service.send_message(s, sup, conversation_id=conv.id, client_message_id="2", body="two")
    async with session_factory() as s:
        rows = list((await s.execute(select(PushOutbox))).scalars())
        assert [(r.user_id, r.kind, r.body, r.data["count"]) for r in rows] == [
            (dist.user_id, "chat", "two", "2")
        ]
    async with session_factory() as s, s.begin():
        await service.set_muted(s, dist, conversation_id=conv.id, muted=True)
        await s.execute(PushOutbox.__table__.delete())
        await service.send_message(s, sup, conversation_id=conv.id, client_message_id="3", body="three")
    async with session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(PushOutbox)) == 0


async def test_concurrent_sends_get_distinct_seqs(session_factory, network: Network) -> None:
    import asyncio

    conv = await _direct(session_factory, network)
    sup = actor(network, "supplier-a")

    async def send(i: int) -> int:
        async with session_factory() as s, s.begin():
            m = await service.send_message(
                s, sup, conversation_id=conv.id, client_message_id=f"p{i}", body="x"
            )
            return m.seq

    seqs = await asyncio.gather(*(send(i) for i in range(8)))
    assert sorted(seqs) == list(range(1, 9))
    async with session_factory() as s:
        conv_row = await s.get(Conversation, conv.id)
        assert conv_row.last_seq == 8
        assert await s.scalar(select(func.count()).select_from(ConversationMember)) == 2
