"""The support agents' API (the console calls it): queue, claim, assign, resolve, reopen, reply,
internal notes, canned replies and the customer's context."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Response, get, post
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.identity import Actor, User
from backend.messaging import CannedReply, Conversation, SupportNote, support
from mobile_api.params import PathId
from mobile_api.routes.messaging_schemas import MessageOut
from mobile_api.schemas import Strict, created_or_existing, existed

Body = Annotated[str, msgspec.Meta(max_length=100_000)]


class QueueItemOut(msgspec.Struct):
    id: str
    title: str
    status: str | None
    customer: str
    organisation: str
    assignee_id: str | None
    assignee: str | None
    unread: int
    waiting_s: int | None
    first_response_left_s: int | None
    first_response_due_at: datetime | None
    first_response_at: datetime | None
    escalated: bool
    last_message_at: datetime | None


class NoteOut(msgspec.Struct):
    id: str
    conversation_id: str
    author_id: str
    body: str
    created_at: datetime

    @classmethod
    def of(cls, n: SupportNote) -> NoteOut:
        return cls(n.id, n.conversation_id, n.author_id, n.body, n.created_at)


class CannedOut(msgspec.Struct):
    id: str
    title: str
    body: str

    @classmethod
    def of(cls, c: CannedReply) -> CannedOut:
        return cls(c.id, c.title, c.body)


class StatusOut(msgspec.Struct):
    id: str
    status: str | None
    assignee_id: str | None

    @classmethod
    def of(cls, c: Conversation) -> StatusOut:
        return cls(c.id, c.status, c.assignee_id)


class AssignIn(Strict):
    agent_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class ReplyIn(Strict):
    body: Body
    client_message_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class NoteIn(Strict):
    body: Body


class CannedIn(Strict):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    body: Body


@get("/support/queue", tags=["support"], summary="The shared queue (agents)")
async def queue(
    actor: Actor,
    db_session: AsyncSession,
    status: Literal["waiting", "claimed", "resolved"] | None = None,
    mine: bool = False,
) -> list[QueueItemOut]:
    items = await support.queue(db_session, actor, status=status, mine=mine)
    return [
        QueueItemOut(
            id=i.conversation.id,
            title=i.conversation.title,
            status=i.conversation.status,
            customer=i.customer_name,
            organisation=i.organisation_name,
            assignee_id=i.conversation.assignee_id,
            assignee=i.assignee_name,
            unread=i.unread,
            waiting_s=i.waiting_s,
            first_response_left_s=i.first_response_left_s,
            first_response_due_at=i.conversation.first_response_due_at,
            first_response_at=i.conversation.first_response_at,
            escalated=i.conversation.escalated_at is not None,
            last_message_at=i.conversation.last_message_at,
        )
        for i in items
    ]


@get("/support/agents", tags=["support"], summary="Agents one can assign to")
async def agents(actor: Actor, db_session: AsyncSession) -> list[dict[str, str]]:
    support.require_agent(actor)
    rows = await db_session.execute(
        select(User.id, User.display_name)
        .where(User.role == "support_agent", User.active)
        .order_by(User.display_name)
    )
    return [{"id": i, "name": n} for i, n in rows.tuples()]


@post("/support/conversations/{conversation_id:str}/claim", tags=["support"], status_code=200)
async def claim(conversation_id: PathId, actor: Actor, db_session: AsyncSession) -> StatusOut:
    return StatusOut.of(await support.claim(db_session, actor, conversation_id))


@post("/support/conversations/{conversation_id:str}/assign", tags=["support"], status_code=200)
async def assign(
    conversation_id: PathId, data: AssignIn, actor: Actor, db_session: AsyncSession
) -> StatusOut:
    return StatusOut.of(await support.assign(db_session, actor, conversation_id, agent_id=data.agent_id))


@post("/support/conversations/{conversation_id:str}/resolve", tags=["support"], status_code=200)
async def resolve(conversation_id: PathId, actor: Actor, db_session: AsyncSession) -> StatusOut:
    return StatusOut.of(await support.resolve(db_session, actor, conversation_id))


@post("/support/conversations/{conversation_id:str}/reopen", tags=["support"], status_code=200)
async def reopen(conversation_id: PathId, actor: Actor, db_session: AsyncSession) -> StatusOut:
    return StatusOut.of(await support.reopen(db_session, actor, conversation_id))


@post(
    "/support/conversations/{conversation_id:str}/reply",
    tags=["support"],
    summary="Reply as an agent: the whole message, like the chat endpoint (idempotent on client_message_id)",
    responses=existed(MessageOut),
)
async def reply(
    conversation_id: PathId, data: ReplyIn, actor: Actor, db_session: AsyncSession
) -> Response[MessageOut]:
    msg = await support.reply(
        db_session, actor, conversation_id, body=data.body, client_message_id=data.client_message_id
    )
    return created_or_existing(db_session, msg, MessageOut.of(msg))


@get("/support/conversations/{conversation_id:str}/notes", tags=["support"])
async def list_notes(conversation_id: PathId, actor: Actor, db_session: AsyncSession) -> list[NoteOut]:
    return [NoteOut.of(n) for n in await support.notes(db_session, actor, conversation_id)]


@post("/support/conversations/{conversation_id:str}/notes", tags=["support"], summary="Internal note")
async def add_note(conversation_id: PathId, data: NoteIn, actor: Actor, db_session: AsyncSession) -> NoteOut:
    return NoteOut.of(await support.add_note(db_session, actor, conversation_id, body=data.body))


@get("/support/conversations/{conversation_id:str}/context", tags=["support"], summary="Customer context")
async def context(conversation_id: PathId, actor: Actor, db_session: AsyncSession) -> dict[str, Any]:
    return await support.customer_context(db_session, actor, conversation_id)


@get("/support/canned-replies", tags=["support"])
async def list_canned(actor: Actor, db_session: AsyncSession) -> list[CannedOut]:
    return [CannedOut.of(c) for c in await support.canned_replies(db_session, actor)]


@post("/support/canned-replies", tags=["support"])
async def save_canned(data: CannedIn, actor: Actor, db_session: AsyncSession) -> CannedOut:
    return CannedOut.of(await support.save_canned_reply(db_session, actor, title=data.title, body=data.body))


ROUTES = [
    queue,
    claim,
    assign,
    resolve,
    reopen,
    reply,
    list_notes,
    add_note,
    context,
    list_canned,
    save_canned,
]
