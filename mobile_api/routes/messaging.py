"""Conversations, messages, read markers and push preferences over REST; the WebSocket and the
support console are collected here too (``ROUTES``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Response, delete, get, patch, post, put
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.bounds import INT64_MAX, Id
from backend.bounds import ClientId as HexId
from backend.identity import Actor
from backend.messaging import Conversation, ConversationMember, MessageRevision, support
from backend.messaging import service as messaging
from backend.notifications import service as notifications
from mobile_api import ws
from mobile_api.console import routes as console
from mobile_api.params import PathId
from mobile_api.routes import messaging_desk, messaging_support
from mobile_api.routes.messaging_schemas import MessageOut
from mobile_api.schemas import Strict, created_or_existing, existed

ClientId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
# The service enforces settings.message_max_chars with its own code; this only bounds parsing.
Body = Annotated[str, msgspec.Meta(max_length=100_000)]


class ConversationOut(msgspec.Struct):
    id: str
    kind: str
    title: str
    created_by: str
    created_at: datetime
    last_seq: int
    last_message_at: datetime | None
    status: str | None
    assignee_id: str | None
    unread: int = 0
    last_read_seq: int = 0
    muted: bool = False
    role: str | None = None

    @classmethod
    def of(
        cls, c: Conversation, member: ConversationMember | None = None, unread: int | None = None
    ) -> ConversationOut:
        read = member.last_read_seq if member else 0
        return cls(
            c.id,
            c.kind,
            c.title,
            c.created_by,
            c.created_at,
            c.last_seq,
            c.last_message_at,
            c.status,
            c.assignee_id,
            unread=unread if unread is not None else max(0, c.last_seq - read),
            last_read_seq=read,
            muted=member.muted if member else False,
            role=member.role if member else None,
        )


class RevisionOut(msgspec.Struct):
    action: str
    body: str
    attachments: list[str]
    revised_by: str
    revised_at: datetime

    @classmethod
    def of(cls, r: MessageRevision) -> RevisionOut:
        return cls(r.action, r.body, list(r.attachments or []), r.revised_by, r.revised_at)


class ConversationIn(Strict):
    kind: Literal["direct", "group"]
    member_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=200)]
    title: Annotated[str, msgspec.Meta(max_length=200)] = ""
    id: HexId | None = None


class MessageIn(Strict):
    client_message_id: ClientId
    body: Body = ""
    attachments: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=64)]], msgspec.Meta(max_length=50)
    ] = []


class ReadIn(Strict):
    seq: Annotated[int, msgspec.Meta(ge=0)]


class MuteIn(Strict):
    muted: bool


class MemberIn(Strict):
    user_id: Id


class EditIn(Strict):
    body: Body


class SupportOpenIn(Strict):
    subject: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    body: Body
    client_message_id: ClientId
    id: HexId | None = None


class PreferencesIn(Strict):
    chat_enabled: bool | None = None
    quiet_start_min: Annotated[int, msgspec.Meta(ge=0, le=1439)] | None = None
    quiet_end_min: Annotated[int, msgspec.Meta(ge=0, le=1439)] | None = None
    timezone: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    clear_quiet_hours: bool = False


class PreferencesOut(msgspec.Struct):
    chat_enabled: bool
    quiet_start_min: int | None
    quiet_end_min: int | None
    timezone: str


Limit = Annotated[int, Parameter(ge=1, le=500, default=100)]


@get("/conversations", tags=["messaging"], summary="My conversations with unread counts")
async def list_conversations(actor: Actor, db_session: AsyncSession, limit: Limit) -> list[ConversationOut]:
    views = await messaging.list_conversations(db_session, actor, limit=limit)
    return [ConversationOut.of(v.conversation, v.member, v.unread) for v in views]


@post(
    "/conversations",
    tags=["messaging"],
    summary="Start a direct or group conversation (a direct one with the same person is returned)",
    responses=existed(ConversationOut),
)
async def create_conversation(
    data: ConversationIn, actor: Actor, db_session: AsyncSession
) -> Response[ConversationOut]:
    conv = await messaging.create_conversation(
        db_session,
        actor,
        kind=data.kind,
        member_ids=data.member_ids,
        title=data.title,
        conversation_id=data.id,
    )
    out = ConversationOut.of(conv, await messaging.membership(db_session, conv.id, actor.user_id))
    return created_or_existing(db_session, conv, out)


@get("/conversations/{conversation_id:str}", tags=["messaging"])
async def get_conversation(
    conversation_id: PathId, actor: Actor, db_session: AsyncSession
) -> ConversationOut:
    conv = await messaging.visible_conversation(db_session, actor, conversation_id)
    return ConversationOut.of(conv, await messaging.membership(db_session, conv.id, actor.user_id))


@get("/conversations/{conversation_id:str}/messages", tags=["messaging"], summary="Messages after a seq")
async def list_messages(
    conversation_id: PathId,
    actor: Actor,
    db_session: AsyncSession,
    limit: Limit,
    after_seq: Annotated[int, Parameter(ge=0, le=INT64_MAX, default=0)],
) -> list[MessageOut]:
    rows = await messaging.list_messages(db_session, actor, conversation_id, after_seq=after_seq, limit=limit)
    return [MessageOut.of(m) for m in rows]


@post(
    "/conversations/{conversation_id:str}/messages",
    tags=["messaging"],
    summary="Send a message (idempotent on client_message_id)",
    responses=existed(MessageOut),
)
async def send_message(
    conversation_id: PathId, data: MessageIn, actor: Actor, db_session: AsyncSession
) -> Response[MessageOut]:
    msg = await messaging.send_message(
        db_session,
        actor,
        conversation_id=conversation_id,
        client_message_id=data.client_message_id,
        body=data.body,
        attachments=data.attachments,
    )
    return created_or_existing(db_session, msg, MessageOut.of(msg))


@post("/conversations/{conversation_id:str}/read", tags=["messaging"], status_code=200)
async def mark_read(
    conversation_id: PathId, data: ReadIn, actor: Actor, db_session: AsyncSession
) -> dict[str, int]:
    seq = await messaging.mark_read(db_session, actor, conversation_id=conversation_id, up_to_seq=data.seq)
    return {"last_read_seq": seq}


@post("/conversations/{conversation_id:str}/mute", tags=["messaging"], status_code=200)
async def mute(
    conversation_id: PathId, data: MuteIn, actor: Actor, db_session: AsyncSession
) -> dict[str, bool]:
    member = await messaging.set_muted(db_session, actor, conversation_id=conversation_id, muted=data.muted)
    return {"muted": member.muted}


@post("/conversations/{conversation_id:str}/members", tags=["messaging"])
async def add_member(
    conversation_id: PathId, data: MemberIn, actor: Actor, db_session: AsyncSession
) -> dict[str, str]:
    member = await messaging.add_member(
        db_session, actor, conversation_id=conversation_id, user_id=data.user_id
    )
    return {"user_id": member.user_id, "role": member.role}


@patch("/messages/{message_id:str}", tags=["messaging"], summary="Edit a message within the edit window")
async def edit_message(
    message_id: PathId, data: EditIn, actor: Actor, db_session: AsyncSession
) -> MessageOut:
    return MessageOut.of(
        await messaging.edit_message(db_session, actor, message_id=message_id, body=data.body)
    )


@delete("/messages/{message_id:str}", tags=["messaging"], status_code=200)
async def delete_message(message_id: PathId, actor: Actor, db_session: AsyncSession) -> MessageOut:
    return MessageOut.of(await messaging.delete_message(db_session, actor, message_id=message_id))


@get("/messages/{message_id:str}/history", tags=["messaging"], summary="Earlier versions of a message")
async def message_history(message_id: PathId, actor: Actor, db_session: AsyncSession) -> list[RevisionOut]:
    return [RevisionOut.of(r) for r in await messaging.message_history(db_session, actor, message_id)]


@post(
    "/support/conversations",
    tags=["support"],
    summary="Open a support conversation (idempotent on id)",
    responses=existed(ConversationOut),
)
async def open_support(
    data: SupportOpenIn, actor: Actor, db_session: AsyncSession
) -> Response[ConversationOut]:
    conv = await support.open_support_conversation(
        db_session,
        actor,
        conversation_id=data.id,
        subject=data.subject,
        body=data.body,
        client_message_id=data.client_message_id,
    )
    out = ConversationOut.of(conv, await messaging.membership(db_session, conv.id, actor.user_id))
    return created_or_existing(db_session, conv, out)


def _prefs(p: Any) -> PreferencesOut:
    return PreferencesOut(p.chat_enabled, p.quiet_start_min, p.quiet_end_min, p.timezone)


@get("/me/push-preferences", tags=["push"])
async def get_preferences(actor: Actor, db_session: AsyncSession) -> PreferencesOut:
    return _prefs(await notifications.get_preferences(db_session, actor.user_id))


@put("/me/push-preferences", tags=["push"], summary="Chat pushes on/off and quiet hours (local minutes)")
async def set_preferences(data: PreferencesIn, actor: Actor, db_session: AsyncSession) -> PreferencesOut:
    pref = await notifications.set_preferences(db_session, actor.user_id, **msgspec.structs.asdict(data))
    return _prefs(pref)


ROUTES: list[Any] = [
    list_conversations,
    create_conversation,
    get_conversation,
    list_messages,
    send_message,
    mark_read,
    mute,
    add_member,
    edit_message,
    delete_message,
    message_history,
    open_support,
    get_preferences,
    set_preferences,
    *ws.ROUTES,
    *messaging_support.ROUTES,
    *messaging_desk.ROUTES,
    *console.ROUTES,
]
