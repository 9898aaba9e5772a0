"""Messaging services: conversations, members, messages, read markers.

Every function takes the session it works in; the caller (route, sync mutation, job, socket
handler) owns the transaction. Each write queues its live event with
:func:`backend.events.queue_event`, so nothing is broadcast for a change that rolls back.
Who may see and do what is decided here, in :func:`visible_conversation` and
:func:`require_member`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from backend.catalog import ChannelAuthorisation
from backend.config import Settings
from backend.db import new_id, utcnow
from backend.errors import DomainError
from backend.events import queue_event
from backend.identity import Actor, Organisation, User
from backend.messaging import attachments, desk_hooks, errors, presence, sending
from backend.messaging.models import (
    SUPPORT_SCOPE,
    Conversation,
    ConversationMember,
    LiveConnection,
    Message,
    MessageRevision,
    conv_scope,
)
from backend.messaging.sending import among
from backend.notifications import PushPreference
from backend.notifications import service as notifications
from backend.planmode import writes_planned_by_default

SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_ATTACHMENTS = 10
MAX_GROUP_MEMBERS = 200
AGENT_ROLES = ("support_agent", "admin")


@dataclass(frozen=True, slots=True)
class Policy:
    """Limits that come from :class:`Settings`; :func:`configure` installs them at start-up."""

    message_max_chars: int = Settings().message_max_chars
    edit_window_s: int = Settings().message_edit_window_s
    first_response_s: int = Settings().support_first_response_s


_policy = Policy()


def configure(settings: Settings) -> None:
    global _policy
    _policy = Policy(
        message_max_chars=settings.message_max_chars,
        edit_window_s=settings.message_edit_window_s,
        first_response_s=settings.support_first_response_s,
    )
    from backend.messaging import sla

    at = settings.support_clock_at
    sla.freeze(datetime.fromisoformat(at.replace("Z", "+00:00")) if at else None)


def policy() -> Policy:
    return _policy


def is_agent(actor: Actor) -> bool:
    return actor.role in AGENT_ROLES


# --- reading, and the one place that decides who sees a conversation --------------------


async def visible_conversation(session: AsyncSession, actor: Actor, conversation_id: str) -> Conversation:
    """The conversation if ``actor`` may read it: members, and agents for support ones.

    Anything else is reported as missing, so ids of other people's conversations leak nothing.
    """
    conv = await session.get(Conversation, conversation_id)
    if conv is not None and (
        (conv.kind == "support" and is_agent(actor)) or await membership(session, conv.id, actor.user_id)
    ):
        return conv
    raise errors.ConversationNotFound(f"conversation {conversation_id} does not exist")


async def membership(
    session: AsyncSession, conversation_id: str, user_id: str, *, lock: bool = False
) -> ConversationMember | None:
    stmt = select(ConversationMember).where(
        ConversationMember.conversation_id == conversation_id, ConversationMember.user_id == user_id
    )
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def require_member(
    session: AsyncSession, actor: Actor, conversation_id: str, *, lock: bool = False
) -> tuple[Conversation, ConversationMember]:
    """The conversation and the actor's membership; ``conversation_not_found`` / ``not_a_member``."""
    conv = await session.get(Conversation, conversation_id)
    if conv is None:
        raise errors.ConversationNotFound(f"conversation {conversation_id} does not exist")
    member = await membership(session, conversation_id, actor.user_id, lock=lock)
    if member is None:
        hint = "claim the conversation first" if conv.kind == "support" and is_agent(actor) else ""
        raise errors.NotAMember(f"you are not a member of this conversation. {hint}".strip())
    return conv, member


async def member_conversation_ids(session: AsyncSession, user_id: str) -> list[str]:
    """Ids of the conversations ``user_id`` is a member of (the sync engine's ``conv:`` scopes)."""
    rows = await session.execute(
        select(ConversationMember.conversation_id).where(ConversationMember.user_id == user_id)
    )
    return sorted(rows.scalars())


async def any_support_conversation(session: AsyncSession, conversation_ids: set[str]) -> bool:
    """Whether any of these conversations is a support one."""
    found = await session.scalar(
        select(Conversation.id)
        .where(among(session, Conversation.id, conversation_ids), Conversation.kind == "support")
        .limit(1)
    )
    return found is not None


async def member_ids(session: AsyncSession, conversation_id: str) -> list[str]:
    rows = await session.execute(
        select(ConversationMember.user_id).where(ConversationMember.conversation_id == conversation_id)
    )
    return list(rows.scalars())


@dataclass(frozen=True, slots=True)
class ConversationView:
    conversation: Conversation
    member: ConversationMember | None
    unread: int


async def list_conversations(
    session: AsyncSession, actor: Actor, *, limit: int = 100
) -> list[ConversationView]:
    """The actor's conversations, most recently active first, with unread counts."""
    rows = await session.execute(
        select(Conversation, ConversationMember)
        .join(ConversationMember, ConversationMember.conversation_id == Conversation.id)
        .where(ConversationMember.user_id == actor.user_id)
        .order_by(func.coalesce(Conversation.last_message_at, Conversation.created_at).desc())
        .limit(limit)
    )
    return [ConversationView(c, m, max(0, c.last_seq - m.last_read_seq)) for c, m in rows.tuples()]


async def list_messages(
    session: AsyncSession, actor: Actor, conversation_id: str, *, after_seq: int = 0, limit: int = 100
) -> list[Message]:
    await visible_conversation(session, actor, conversation_id)
    rows = await session.execute(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.seq > after_seq)
        .order_by(Message.seq)
        .limit(limit)
    )
    return list(rows.scalars())


async def message_history(session: AsyncSession, actor: Actor, message_id: str) -> list[MessageRevision]:
    msg = await session.get(Message, message_id)
    if msg is None:
        raise errors.MessageNotFound(f"message {message_id} does not exist")
    await visible_conversation(session, actor, msg.conversation_id)
    rows = await session.execute(
        select(MessageRevision)
        .where(MessageRevision.message_id == message_id)
        .order_by(MessageRevision.revised_at)
    )
    return list(rows.scalars())


# --- creating conversations -------------------------------------------------------------


async def _may_contact(session: AsyncSession, actor: Actor, other: User) -> bool:
    """Colleagues, a supplier and a distributor it trades with, and support, may talk."""
    if other.org_id == actor.org_id or is_agent(actor) or other.role in AGENT_ROLES:
        return True
    other_kind = await session.scalar(select(Organisation.kind).where(Organisation.id == other.org_id))
    pair = {actor.org_kind: actor.org_id, other_kind: other.org_id}
    if set(pair) != {"supplier", "distributor"}:
        return False
    trades = await session.scalar(
        select(ChannelAuthorisation.id)
        .where(
            ChannelAuthorisation.supplier_id == pair["supplier"],
            ChannelAuthorisation.distributor_id == pair["distributor"],
        )
        .limit(1)
    )
    return trades is not None


async def _add_member(
    session: AsyncSession, conv: Conversation, user_id: str, role: str
) -> ConversationMember:
    member = ConversationMember(
        conversation_id=conv.id, user_id=user_id, role=role, last_read_seq=conv.last_seq or 0
    )
    session.add(member)
    await session.flush()
    event = {"type": "member.added", "conversation_id": conv.id, "user_id": user_id, "role": role}
    queue_event(session, conv_scope(conv.id), event)
    queue_event(session, f"user:{user_id}", event)
    return member


async def create_conversation(
    session: AsyncSession,
    actor: Actor,
    *,
    kind: str,
    member_ids: Sequence[str],
    title: str = "",
    conversation_id: str | None = None,
) -> Conversation:
    """A direct (exactly one other user; one per pair, returned if it exists) or group conversation.

    Idempotent on ``conversation_id`` when the phone minted one offline.
    """
    if kind not in ("direct", "group"):
        raise errors.InvalidConversation("kind must be direct or group; open support conversations instead")
    if conversation_id is not None:
        existing = await session.get(Conversation, conversation_id)
        if existing is not None:
            if existing.created_by != actor.user_id:
                raise errors.InvalidConversation("that conversation id is taken", code="conversation_exists")
            return existing
    others = sorted(set(member_ids) - {actor.user_id})
    if kind == "direct" and len(others) != 1:
        raise errors.InvalidConversation("a direct conversation has exactly one other member")
    if not others or len(others) >= MAX_GROUP_MEMBERS:
        raise errors.InvalidConversation(f"a conversation has 2..{MAX_GROUP_MEMBERS} members")
    users = list((await session.execute(select(User).where(User.id.in_(others), User.active))).scalars())
    if len(users) != len(others):
        raise errors.CannotContact("some of those users do not exist")
    for user in users:
        if not await _may_contact(session, actor, user):
            raise errors.CannotContact(f"you cannot start a conversation with {user.username}")
    direct_key = ":".join(sorted([actor.user_id, others[0]])) if kind == "direct" else None
    if direct_key:
        existing = (
            await session.execute(select(Conversation).where(Conversation.direct_key == direct_key))
        ).scalar_one_or_none()
        if existing is not None:
            return existing
    conv = Conversation(
        kind=kind, title=title.strip()[:200], created_by=actor.user_id, direct_key=direct_key, last_seq=0
    )
    if conversation_id is not None:
        conv.id = conversation_id
    session.add(conv)
    await session.flush()
    await _add_member(session, conv, actor.user_id, "owner")
    for user in users:
        await _add_member(session, conv, user.id, "member")
    return conv


async def add_member(
    session: AsyncSession, actor: Actor, *, conversation_id: str, user_id: str
) -> ConversationMember:
    """The owner of a group adds someone they may contact."""
    conv, me = await require_member(session, actor, conversation_id)
    if conv.kind != "group" or me.role != "owner":
        raise errors.NotAMember("only the owner of a group adds members", code="not_group_owner")
    existing = await membership(session, conversation_id, user_id)
    if existing is not None:
        return existing
    user = await session.get(User, user_id)
    if user is None or not user.active or not await _may_contact(session, actor, user):
        raise errors.CannotContact("you cannot add that user")
    return await _add_member(session, conv, user_id, "member")


# --- messages ---------------------------------------------------------------------------


def _check_content(body: str, attachments: Sequence[str]) -> tuple[str, list[str]]:
    limit = _policy.message_max_chars
    if len(body) > limit:
        raise errors.MessageTooLong(
            f"a message has at most {limit} characters", details={"max_chars": limit, "chars": len(body)}
        )
    atts = [a.lower() for a in attachments]
    if len(atts) > MAX_ATTACHMENTS:
        raise errors.InvalidAttachment(f"at most {MAX_ATTACHMENTS} attachments")
    if any(not SHA256.match(a) for a in atts):
        raise errors.InvalidAttachment("attachments are SHA-256 hex digests of uploaded media")
    if not body.strip() and not atts:
        raise errors.EmptyMessage("a message needs text or an attachment")
    return body, atts


def message_event(msg: Message, type_: str = "message") -> dict[str, Any]:
    return {"type": type_, "conversation_id": msg.conversation_id, "message": msg.sync_data()}


@dataclass(frozen=True, slots=True)
class SendRequest:
    """One message to append (see :func:`send_messages`)."""

    actor: Actor
    conversation_id: str
    client_message_id: str
    body: str = ""
    attachments: Sequence[str] = ()
    meta: dict[str, Any] | None = None  # set by the server only (the CSAT question's quick replies)
    # The sender's name as of this send, for its chat pushes, when the caller knows it (a batch
    # that renames the sender between its sends); read from the user row otherwise.
    sender_name: str | None = None


async def send_message(
    session: AsyncSession,
    actor: Actor,
    *,
    conversation_id: str,
    client_message_id: str,
    body: str,
    attachments: Sequence[str] = (),
) -> Message:
    """Append one message (:func:`send_messages` with one request); a refusal is raised."""
    result = (
        await send_messages(
            session, [SendRequest(actor, conversation_id, client_message_id, body, attachments)]
        )
    )[0]
    if isinstance(result, DomainError):
        raise result
    return result


async def send_messages(
    session: AsyncSession, requests: Sequence[SendRequest]
) -> list[Message | DomainError]:
    """Append messages, in order; the same ``(sender, client_message_id)`` twice is one message.

    For each request: check (client id, conversation, membership, duplicate, content), then
    take the next per-conversation ``seq`` under the conversation's row lock, insert, move the
    sender's read marker, queue the live event and owe a chat push to members without a live
    socket. A refused request gets its error in the result list and writes nothing; the others
    go on. A batch costs a fixed number of statements, not a number per message (the live
    socket's writer stores everything that arrived meanwhile in one transaction).

    Raises ``client_message_id_reused`` when the insert hits a concurrent send's id: the
    caller rolls back (or retries each request alone).
    """
    results: list[Message | DomainError | None] = [None] * len(requests)
    for i, req in enumerate(requests):
        if not 1 <= len(req.client_message_id) <= 64:
            results[i] = errors.InvalidConversation(
                "client_message_id must be 1..64 characters", code="invalid_client_message_id"
            )
    wanted = sorted({r.conversation_id for i, r in enumerate(requests) if results[i] is None})
    if not wanted:
        return results  # type: ignore[return-value]
    # Lock the conversations first (in id order: two batches never deadlock): sends to one
    # conversation (and retries of a send) serialise here, so the duplicate check below sees
    # every committed send and the seq has no gaps.
    convs = {
        c.id: c
        for c in (
            await session.execute(
                select(Conversation)
                .where(among(session, Conversation.id, wanted))
                .order_by(Conversation.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).scalars()
    }
    senders = {r.actor.user_id for r in requests}
    members, offline = await _members_of(session, list(convs), senders)
    sent_before = {
        (m.sender_id, m.client_message_id): m
        for m in (
            await session.execute(
                select(Message).where(
                    among(session, Message.sender_id, senders),
                    among(session, Message.client_message_id, {r.client_message_id for r in requests}),
                )
            )
        ).scalars()
    }
    now = utcnow()
    desk = await desk_hooks.load(session, [c for c in convs.values() if c.kind == "support"])
    new = sending.NewMessages()
    sent: list[tuple[SendRequest, Message]] = []
    for i, req in enumerate(requests):
        if results[i] is not None:
            continue
        try:
            results[i] = _append(req, convs, members, sent_before, now, new, sent, desk)
        except DomainError as exc:
            results[i] = exc
    if not sent:
        return results  # type: ignore[return-value]
    touched = {msg.conversation_id: convs[msg.conversation_id] for _, msg in sent}
    async with writes_planned_by_default(session):
        await sending.store(session, new, {c.id: c.last_seq for c in touched.values()}, now)
    for _, msg in sent:
        queue_event(session, conv_scope(msg.conversation_id), message_event(msg))
        if convs[msg.conversation_id].kind == "support":
            queue_event(
                session, SUPPORT_SCOPE, {"type": "support.updated", "conversation_id": msg.conversation_id}
            )
    await attachments.link_photos(session, [(r.actor, m) for r, m in sent])
    await _owe_chat_pushes(session, touched, sent, offline)
    return results  # type: ignore[return-value]


async def _members_of(
    session: AsyncSession, conversation_ids: list[str], senders: set[str]
) -> tuple[dict[tuple[str, str], ConversationMember], dict[str, list[tuple[str, PushPreference | None]]]]:
    """In one query: the senders' member rows, and per conversation the members a chat push is
    owed to (not muted, no live socket), with their push preferences."""
    horizon = utcnow() - timedelta(seconds=presence.STALE_AFTER_S)
    online = exists().where(
        LiveConnection.user_id == ConversationMember.user_id, LiveConnection.seen_at >= horizon
    )
    rows = await session.execute(
        select(ConversationMember, PushPreference, online.label("online"))
        .outerjoin(PushPreference, PushPreference.user_id == ConversationMember.user_id)
        .where(among(session, ConversationMember.conversation_id, conversation_ids))
    )
    members: dict[tuple[str, str], ConversationMember] = {}
    offline: dict[str, list[tuple[str, PushPreference | None]]] = {}
    for member, pref, is_online in rows.tuples():
        if member.user_id in senders:
            members[(member.conversation_id, member.user_id)] = member
        if not member.muted and not is_online:
            offline.setdefault(member.conversation_id, []).append((member.user_id, pref))
    return members, offline


def _append(
    req: SendRequest,
    convs: dict[str, Conversation],
    members: dict[tuple[str, str], ConversationMember],
    sent_before: dict[tuple[str, str], Message],
    now: Any,
    new: sending.NewMessages,
    sent: list[tuple[SendRequest, Message]],
    desk: desk_hooks.DeskBatch | None = None,
) -> Message:
    """Check one request against what the batch loaded and appended so far; the new message."""
    conv = convs.get(req.conversation_id)
    if conv is None:
        raise errors.ConversationNotFound(f"conversation {req.conversation_id} does not exist")
    member = members.get((conv.id, req.actor.user_id))
    if member is None:
        raise errors.NotAMember("you are not a member of this conversation")
    existing = sent_before.get((req.actor.user_id, req.client_message_id))
    if existing is not None:
        if existing.conversation_id != conv.id:
            raise errors.ClientMessageIdReused("that client message id was used in another conversation")
        return existing
    body, atts = _check_content(req.body, req.attachments)
    seq = conv.last_seq + 1
    set_committed_value(conv, "last_seq", seq)
    set_committed_value(conv, "last_message_at", now)
    msg = Message(
        id=new_id(),
        conversation_id=conv.id,
        seq=seq,
        sender_id=req.actor.user_id,
        client_message_id=req.client_message_id,
        body=body,
        attachments=atts,
        meta=req.meta,
        created_at=now,
        edited_at=None,
        deleted_at=None,
        version=1,
    )
    sent_before[(req.actor.user_id, req.client_message_id)] = msg
    new.append(msg, member)  # moves the sender's read marker to ``seq``
    if conv.kind == "support" and desk is not None:
        desk_hooks.after_message(desk, conv, member, msg)
    sent.append((req, msg))
    return msg


async def _owe_chat_pushes(
    session: AsyncSession,
    convs: dict[str, Conversation],
    new: Sequence[tuple[SendRequest, Message]],
    offline: dict[str, list[tuple[str, PushPreference | None]]],
) -> None:
    """Owe a chat push to each member who did not mute the conversation and has no live socket."""
    if not any(conversation_id in offline for conversation_id in convs):
        return
    unnamed = {r.actor.user_id for r, _ in new if r.sender_name is None}
    names: dict[str, str] = {}
    if unnamed:
        named = await session.execute(
            select(User.id, User.display_name).where(among(session, User.id, unnamed))
        )
        names = {user_id: name for user_id, name in named.tuples()}
    owed = []
    for req, msg in new:
        conv = convs[msg.conversation_id]
        sender = req.sender_name if req.sender_name is not None else names.get(req.actor.user_id)
        preview = msg.body[:120] if msg.body.strip() else "📎 attachment"
        for user_id, pref in offline.get(conv.id, ()):
            if user_id == req.actor.user_id:
                continue
            owed.append(
                notifications.Owed(
                    user_id,
                    "chat",
                    title=conv.title or sender or "New message",
                    body=f"{sender}: {preview}" if conv.title else preview,
                    data={"conversation_id": conv.id, "seq": str(msg.seq)},
                    collapse_key=f"chat:{conv.id}"[:64],
                    preference=pref,
                )
            )
    await notifications.enqueue_many(session, owed)


async def mark_read(session: AsyncSession, actor: Actor, *, conversation_id: str, up_to_seq: int) -> int:
    """Move the actor's read marker forward (never back, never past the last message)."""
    conv, member = await require_member(session, actor, conversation_id, lock=True)
    target = min(max(member.last_read_seq, up_to_seq), conv.last_seq)
    if target != member.last_read_seq:
        member.last_read_seq = target
        await session.flush()
        queue_event(
            session,
            conv_scope(conv.id),
            {"type": "read", "conversation_id": conv.id, "user_id": actor.user_id, "seq": target},
        )
    return target


async def set_muted(
    session: AsyncSession, actor: Actor, *, conversation_id: str, muted: bool
) -> ConversationMember:
    _conv, member = await require_member(session, actor, conversation_id)
    member.muted = muted
    await session.flush()
    return member


async def _own_message(session: AsyncSession, actor: Actor, message_id: str) -> Message:
    msg = await session.get(Message, message_id)
    if msg is None:
        raise errors.MessageNotFound(f"message {message_id} does not exist")
    await require_member(session, actor, msg.conversation_id)
    if msg.sender_id != actor.user_id:
        raise errors.NotYourMessage("only the sender edits or deletes a message")
    if msg.deleted_at is not None:
        raise errors.EditWindowClosed("the message was deleted", code="message_deleted")
    if utcnow() - msg.created_at > timedelta(seconds=_policy.edit_window_s):
        raise errors.EditWindowClosed(
            f"messages can be changed for {_policy.edit_window_s} s after sending",
            details={"edit_window_s": _policy.edit_window_s},
        )
    return msg


async def edit_message(session: AsyncSession, actor: Actor, *, message_id: str, body: str) -> Message:
    msg = await _own_message(session, actor, message_id)
    body, _ = _check_content(body, msg.attachments)
    session.add(
        MessageRevision(
            message_id=msg.id,
            action="edit",
            body=msg.body,
            attachments=msg.attachments,
            revised_by=actor.user_id,
        )
    )
    msg.body = body
    msg.edited_at = utcnow()
    await session.flush()
    queue_event(session, conv_scope(msg.conversation_id), message_event(msg, "message.edited"))
    return msg


async def delete_message(session: AsyncSession, actor: Actor, *, message_id: str) -> Message:
    """Blank the message for everyone (it keeps its place); the text stays in its history."""
    msg = await _own_message(session, actor, message_id)
    session.add(
        MessageRevision(
            message_id=msg.id,
            action="delete",
            body=msg.body,
            attachments=msg.attachments,
            revised_by=actor.user_id,
        )
    )
    msg.body, msg.attachments, msg.deleted_at = "", [], utcnow()
    await session.flush()
    queue_event(session, conv_scope(msg.conversation_id), message_event(msg, "message.deleted"))
    return msg


async def open_support_conversation(
    session: AsyncSession,
    actor: Actor,
    *,
    conversation_id: str | None = None,
    subject: str,
    body: str,
    client_message_id: str,
) -> Conversation:
    """Open a support conversation (see :mod:`backend.messaging.support`, where the queue lives)."""
    from backend.messaging import support  # support builds on this module

    return await support.open_support_conversation(
        session,
        actor,
        conversation_id=conversation_id,
        subject=subject,
        body=body,
        client_message_id=client_message_id,
    )
