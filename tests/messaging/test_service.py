"""Conversations, messages, read markers and their rules, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.changefeed import ChangeLog
from backend.db import utcnow
from backend.messaging import Conversation, Message, MessageRevision, service
from backend.messaging import errors as merr
from backend.notifications import PushOutbox
from tests.factories import Network
from tests.messaging.helpers import actor

SHA = "ab" * 32


async def _direct(sf: async_sessionmaker[AsyncSession], net: Network, a: str, b: str) -> Conversation:
    async with sf() as s, s.begin():
        return await service.create_conversation(s, actor(net, a), kind="direct", member_ids=[net.user(b).id])


class TestSending:
    async def test_ordered_idempotent_scoped_and_concurrent(self, session_factory, network: Network) -> None:
        conv = await _direct(session_factory, network, "supplier-a", "dist-north")
        assert (
            await _direct(session_factory, network, "dist-north", "supplier-a")
        ).id == conv.id  # one per pair
        sup, dist = actor(network, "supplier-a"), actor(network, "dist-north")
        async with session_factory() as s, s.begin():
            m1 = await service.send_message(
                s, sup, conversation_id=conv.id, client_message_id="c1", body="hello"
            )
            m2 = await service.send_message(
                s, sup, conversation_id=conv.id, client_message_id="c2", body="again"
            )
            again = await service.send_message(
                s, sup, conversation_id=conv.id, client_message_id="c1", body="x"
            )
        assert (m1.seq, m2.seq, again.id) == (1, 2, m1.id)

        async def send(i: int) -> int:
            async with session_factory() as s, s.begin():
                who = sup if i % 2 else dist
                m = await service.send_message(
                    s, who, conversation_id=conv.id, client_message_id=f"p{i}", body="x"
                )
                return m.seq

        seqs = await asyncio.gather(*(send(i) for i in range(8)), send(1))  # the last one is a retry
        assert sorted(set(seqs)) == list(range(3, 11)) and seqs[1] == seqs[-1]
        async with session_factory() as s:
            assert await s.scalar(select(func.count()).select_from(Message)) == 10
            assert (await s.get(Conversation, conv.id)).last_seq == 10
            [mine] = await service.list_conversations(s, sup)
            [theirs] = await service.list_conversations(s, dist)
            messages = await service.list_messages(s, dist, conv.id)
            for view, who in ((mine, sup), (theirs, dist)):
                own_last = max(m.seq for m in messages if m.sender_id == who.user_id)
                assert (view.member.last_read_seq, view.unread) == (own_last, 10 - own_last)
            scopes = set(
                (await s.execute(select(ChangeLog.scope).where(ChangeLog.entity == "message"))).scalars()
            )
            assert scopes == {f"conv:{conv.id}"}
            member_scopes = set(
                (
                    await s.execute(select(ChangeLog.scope).where(ChangeLog.entity == "conversation_member"))
                ).scalars()
            )
            assert f"user:{dist.user_id}" in member_scopes

    async def test_who_may_read_write_and_start(self, session_factory, network: Network) -> None:
        conv = await _direct(session_factory, network, "supplier-a", "dist-north")
        other = actor(network, "dist-south")
        async with session_factory() as s:
            with pytest.raises(merr.NotAMember):
                await service.send_message(
                    s, other, conversation_id=conv.id, client_message_id="x", body="hi"
                )
            with pytest.raises(merr.ConversationNotFound):
                await service.list_messages(s, other, conv.id)
            with pytest.raises(merr.ConversationNotFound):
                await service.send_message(s, other, conversation_id="nope", client_message_id="x", body="hi")
            with pytest.raises(merr.CannotContact):
                await service.create_conversation(
                    s, actor(network, "dist-north"), kind="direct", member_ids=[other.user_id]
                )
            with pytest.raises(merr.InvalidConversation):
                await service.create_conversation(s, other, kind="direct", member_ids=[])
            assert await service.member_conversation_ids(s, other.user_id) == []
            assert await service.member_conversation_ids(s, network.user("dist-north").id) == [conv.id]

    async def test_limits_and_bad_input(self, session_factory, network: Network) -> None:
        conv = await _direct(session_factory, network, "supplier-a", "dist-north")
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
            with pytest.raises(merr.InvalidConversation):
                await service.send_message(s, sup, conversation_id=conv.id, client_message_id="", body="x")
            ok = await service.send_message(
                s, sup, conversation_id=conv.id, client_message_id="a", body="", attachments=[SHA.upper()]
            )
            assert ok.attachments == [SHA]


class TestAfterSending:
    async def test_read_markers_edits_history_and_pushes(self, session_factory, network: Network) -> None:
        conv = await _direct(session_factory, network, "supplier-a", "dist-north")
        sup, dist = actor(network, "supplier-a"), actor(network, "dist-north")
        async with session_factory() as s, s.begin():
            msgs = [
                await service.send_message(
                    s, sup, conversation_id=conv.id, client_message_id=f"m{i}", body=f"v{i}"
                )
                for i in range(3)
            ]
        async with session_factory() as s, s.begin():
            assert await service.mark_read(s, dist, conversation_id=conv.id, up_to_seq=2) == 2
            assert await service.mark_read(s, dist, conversation_id=conv.id, up_to_seq=1) == 2
            assert await service.mark_read(s, dist, conversation_id=conv.id, up_to_seq=99) == 3
        # One chat push owed to the offline recipient, collapsed over the three messages.
        async with session_factory() as s:
            [row] = (await s.execute(select(PushOutbox))).scalars()
            assert (row.user_id, row.kind, row.body, row.data["count"]) == (dist.user_id, "chat", "v2", "3")

        msg = msgs[0]
        async with session_factory() as s, s.begin():
            with pytest.raises(merr.NotYourMessage):
                await service.edit_message(s, dist, message_id=msg.id, body="hacked")
            await service.edit_message(s, sup, message_id=msg.id, body="v0 fixed")
            await service.delete_message(s, sup, message_id=msg.id)
            with pytest.raises(merr.EditWindowClosed):
                await service.edit_message(s, sup, message_id=msg.id, body="undead")
        async with session_factory() as s, s.begin():
            history = await service.message_history(s, dist, msg.id)
            assert [(r.action, r.body) for r in history] == [("edit", "v0"), ("delete", "v0 fixed")]
            stored = await s.get(Message, msg.id)
            assert (stored.body, stored.seq) == ("", 1) and stored.deleted_at is not None
            old = msgs[1]
            old_row = await s.get(Message, old.id)
            old_row.created_at = utcnow() - timedelta(seconds=service.policy().edit_window_s + 1)
            await s.flush()
            with pytest.raises(merr.EditWindowClosed):
                await service.edit_message(s, sup, message_id=old.id, body="late")
            # Muted: no more chat pushes.
            await service.set_muted(s, dist, conversation_id=conv.id, muted=True)
            await s.execute(PushOutbox.__table__.delete())
            await service.send_message(s, sup, conversation_id=conv.id, client_message_id="m9", body="quiet")
        async with session_factory() as s:
            assert await s.scalar(select(func.count()).select_from(MessageRevision)) == 2
            assert await s.scalar(select(func.count()).select_from(PushOutbox)) == 0
