"""Support conversations: the shared queue, claiming and handing over, notes, the first-response
target and its escalation.

A distributor or field user opens a support conversation; it waits in the queue (status
``waiting``) until an agent claims it (``claimed``, the agent joins as a member) and is
``resolved`` at the end (a new customer message reopens it). Internal notes live only in the
agents' scope. The first-response deadline is set when the conversation opens; the escalation
job marks breaches and alerts supervisors (administrators).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.events import queue_event
from backend.identity import Actor, Organisation, User
from backend.messaging import errors
from backend.messaging.models import (
    SUPPORT_SCOPE,
    CannedReply,
    Conversation,
    ConversationMember,
    Message,
    SupportNote,
)
from backend.messaging.service import (
    _add_member,
    is_agent,
    membership,
    policy,
    send_message,
    visible_conversation,
)
from backend.notifications import service as notifications

CUSTOMER_ROLES = ("distributor_staff", "field_staff", "supplier_staff", "inspector")


def require_agent(actor: Actor) -> None:
    if not is_agent(actor):
        raise errors.NotAnAgent("only support agents do this")


def _announce(session: AsyncSession, conv: Conversation, change: str) -> None:
    queue_event(
        session,
        SUPPORT_SCOPE,
        {"type": "support.updated", "conversation_id": conv.id, "change": change, "status": conv.status},
    )
    queue_event(
        session,
        f"conv:{conv.id}",
        {
            "type": "conversation",
            "conversation_id": conv.id,
            "status": conv.status,
            "assignee_id": conv.assignee_id,
        },
    )


async def open_support_conversation(
    session: AsyncSession,
    actor: Actor,
    *,
    conversation_id: str | None = None,
    subject: str,
    body: str,
    client_message_id: str,
) -> Conversation:
    """Open a support conversation with its first message; idempotent on ``conversation_id``."""
    if actor.role not in CUSTOMER_ROLES:
        raise errors.InvalidConversation(
            "support conversations are opened by customers", code="not_a_customer"
        )
    subject = subject.strip()
    if not 1 <= len(subject) <= 200:
        raise errors.InvalidConversation("a subject has 1..200 characters", code="invalid_subject")
    conv = await session.get(Conversation, conversation_id) if conversation_id else None
    if conv is not None and (conv.kind != "support" or conv.created_by != actor.user_id):
        raise errors.InvalidConversation("that conversation id is taken", code="conversation_exists")
    if conv is None:
        now = utcnow()
        conv = Conversation(
            kind="support",
            title=subject,
            created_by=actor.user_id,
            customer_org_id=actor.org_id,
            status="waiting",
            last_seq=0,
            waiting_since=now,
            first_response_due_at=now + timedelta(seconds=policy().first_response_s),
        )
        if conversation_id:
            conv.id = conversation_id
        session.add(conv)
        await session.flush()
        await _add_member(session, conv, actor.user_id, "customer")
        _announce(session, conv, "opened")
    await send_message(
        session, actor, conversation_id=conv.id, client_message_id=client_message_id, body=body
    )
    return conv


async def _support_conversation(session: AsyncSession, actor: Actor, conversation_id: str) -> Conversation:
    require_agent(actor)
    conv = await visible_conversation(session, actor, conversation_id)
    if conv.kind != "support":
        raise errors.ConversationNotFound(f"support conversation {conversation_id} does not exist")
    return conv


async def _set_assignee(session: AsyncSession, conv: Conversation, assignee_id: str) -> None:
    previous = conv.assignee_id
    if previous and previous != assignee_id:
        await session.execute(
            delete(ConversationMember).where(
                ConversationMember.conversation_id == conv.id,
                ConversationMember.user_id == previous,
                ConversationMember.role == "agent",
            )
        )
        event = {"type": "member.removed", "conversation_id": conv.id, "user_id": previous}
        queue_event(session, f"conv:{conv.id}", event)
        queue_event(session, f"user:{previous}", event)
    if await membership(session, conv.id, assignee_id) is None:
        await _add_member(session, conv, assignee_id, "agent")
    conv.assignee_id = assignee_id
    if conv.status != "resolved":
        conv.status = "claimed"


async def claim(session: AsyncSession, actor: Actor, conversation_id: str) -> Conversation:
    """Take a waiting conversation (or one already yours)."""
    conv = await _support_conversation(session, actor, conversation_id)
    if conv.assignee_id not in (None, actor.user_id):
        raise errors.InvalidTransition(
            "another agent has it; ask them to transfer it", code="already_claimed"
        )
    await _set_assignee(session, conv, actor.user_id)
    await session.flush()
    _announce(session, conv, "claimed")
    return conv


async def assign(session: AsyncSession, actor: Actor, conversation_id: str, *, agent_id: str) -> Conversation:
    """Give the conversation to an agent (assigning a waiting one, or transferring one's own)."""
    conv = await _support_conversation(session, actor, conversation_id)
    if conv.assignee_id not in (None, actor.user_id) and not actor.is_admin:
        raise errors.InvalidTransition("only its current agent transfers it", code="not_assignee")
    agent = await session.get(User, agent_id)
    if agent is None or not agent.active or agent.role not in ("support_agent", "admin"):
        raise errors.NotAnAgent("assign to an active support agent", code="invalid_agent")
    await _set_assignee(session, conv, agent_id)
    await session.flush()
    _announce(session, conv, "assigned")
    return conv


async def resolve(session: AsyncSession, actor: Actor, conversation_id: str) -> Conversation:
    conv = await _support_conversation(session, actor, conversation_id)
    if conv.status == "resolved":
        return conv
    conv.status, conv.resolved_at, conv.waiting_since = "resolved", utcnow(), None
    await session.flush()
    _announce(session, conv, "resolved")
    return conv


async def reopen(session: AsyncSession, actor: Actor, conversation_id: str) -> Conversation:
    conv = await _support_conversation(session, actor, conversation_id)
    if conv.status != "resolved":
        raise errors.InvalidTransition("only a resolved conversation reopens")
    conv.status = "claimed" if conv.assignee_id else "waiting"
    conv.resolved_at = None
    await session.flush()
    _announce(session, conv, "reopened")
    return conv


async def reply(
    session: AsyncSession, actor: Actor, conversation_id: str, *, body: str, client_message_id: str
) -> Message:
    """An agent's reply; replying to an unclaimed conversation claims it."""
    conv = await _support_conversation(session, actor, conversation_id)
    if conv.assignee_id is None:
        await claim(session, actor, conversation_id)
    elif await membership(session, conv.id, actor.user_id) is None:
        raise errors.NotAMember("another agent has this conversation", code="not_assignee")
    return await send_message(
        session, actor, conversation_id=conversation_id, client_message_id=client_message_id, body=body
    )


async def add_note(session: AsyncSession, actor: Actor, conversation_id: str, *, body: str) -> SupportNote:
    """An internal note: agents see it, the customer never does (it is only in the agents' scope)."""
    conv = await _support_conversation(session, actor, conversation_id)
    body = body.strip()
    if not body:
        raise errors.EmptyMessage("a note needs text")
    if len(body) > policy().message_max_chars:
        raise errors.MessageTooLong(f"a note has at most {policy().message_max_chars} characters")
    note = SupportNote(conversation_id=conv.id, author_id=actor.user_id, body=body)
    session.add(note)
    await session.flush()
    queue_event(
        session,
        SUPPORT_SCOPE,
        {"type": "support.note", "conversation_id": conv.id, "note": note.sync_data()},
    )
    return note


async def notes(session: AsyncSession, actor: Actor, conversation_id: str) -> list[SupportNote]:
    conv = await _support_conversation(session, actor, conversation_id)
    rows = await session.execute(
        select(SupportNote).where(SupportNote.conversation_id == conv.id).order_by(SupportNote.created_at)
    )
    return list(rows.scalars())


# --- the queue --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueItem:
    conversation: Conversation
    customer_name: str
    organisation_name: str
    assignee_name: str | None
    unread: int
    waiting_s: int | None
    first_response_left_s: int | None


async def queue(
    session: AsyncSession, actor: Actor, *, status: str | None = None, mine: bool = False, limit: int = 200
) -> list[QueueItem]:
    """Support conversations for the console: waiting first, oldest wait first."""
    require_agent(actor)
    stmt = select(Conversation).where(Conversation.kind == "support")
    if status:
        stmt = stmt.where(Conversation.status == status)
    else:
        stmt = stmt.where(Conversation.status != "resolved")
    if mine:
        stmt = stmt.where(Conversation.assignee_id == actor.user_id)
    convs = list((await session.execute(stmt.limit(limit))).scalars())
    user_ids = {c.created_by for c in convs} | {c.assignee_id for c in convs if c.assignee_id}
    org_ids = {c.customer_org_id for c in convs if c.customer_org_id}
    users = {u.id: u for u in (await session.execute(select(User).where(User.id.in_(user_ids)))).scalars()}
    orgs = {
        o.id: o
        for o in (await session.execute(select(Organisation).where(Organisation.id.in_(org_ids)))).scalars()
    }
    marker_rows = await session.execute(
        select(ConversationMember.conversation_id, ConversationMember.last_read_seq).where(
            ConversationMember.user_id == actor.user_id,
            ConversationMember.conversation_id.in_([c.id for c in convs]),
        )
    )
    markers = {conversation_id: seq for conversation_id, seq in marker_rows.tuples()}
    now = utcnow()
    items = []
    for c in convs:
        read = markers.get(c.id, 0)
        due = c.first_response_due_at
        items.append(
            QueueItem(
                conversation=c,
                customer_name=users[c.created_by].display_name if c.created_by in users else "?",
                organisation_name=orgs[c.customer_org_id].name if c.customer_org_id in orgs else "",
                assignee_name=users[c.assignee_id].display_name if c.assignee_id in users else None,
                unread=max(0, c.last_seq - read),
                waiting_s=int((now - c.waiting_since).total_seconds()) if c.waiting_since else None,
                first_response_left_s=(
                    int((due - now).total_seconds()) if due and c.first_response_at is None else None
                ),
            )
        )
    items.sort(key=lambda i: (i.conversation.status != "waiting", -(i.waiting_s or -1)))
    return items


# --- canned replies ---------------------------------------------------------------------


async def canned_replies(session: AsyncSession, actor: Actor) -> list[CannedReply]:
    require_agent(actor)
    return list((await session.execute(select(CannedReply).order_by(CannedReply.title))).scalars())


async def save_canned_reply(session: AsyncSession, actor: Actor, *, title: str, body: str) -> CannedReply:
    require_agent(actor)
    title, body = title.strip(), body.strip()
    if not (1 <= len(title) <= 120 and 1 <= len(body) <= policy().message_max_chars):
        raise errors.InvalidConversation(
            "a canned reply needs a title and a body", code="invalid_canned_reply"
        )
    existing = (
        await session.execute(select(CannedReply).where(CannedReply.title == title))
    ).scalar_one_or_none()
    if existing is not None:
        existing.body = body
        return existing
    reply_row = CannedReply(title=title, body=body, created_by=actor.user_id)
    session.add(reply_row)
    await session.flush()
    return reply_row


# --- first-response target --------------------------------------------------------------


async def escalate_breaches(session: AsyncSession, *, now: datetime | None = None) -> list[str]:
    """Mark support conversations past their first-response deadline and alert supervisors.

    Each breach escalates once. Supervisors are the active administrators.
    """
    now = now or utcnow()
    stmt = (
        select(Conversation)
        .where(
            Conversation.kind == "support",
            Conversation.status != "resolved",
            Conversation.first_response_at.is_(None),
            Conversation.escalated_at.is_(None),
            Conversation.first_response_due_at < now,
        )
        .limit(500)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    breached = list((await session.execute(stmt)).scalars())
    if not breached:
        return []
    supervisors = list(
        (await session.execute(select(User.id).where(User.role == "admin", User.active))).scalars()
    )
    for conv in breached:
        conv.escalated_at = now
        _announce(session, conv, "escalated")
        for user_id in supervisors:
            await notifications.enqueue(
                session,
                user_id=user_id,
                kind="alert",
                title="Support response overdue",
                body=f"No first response yet: {conv.title}",
                data={"conversation_id": conv.id},
                collapse_key=f"sla:{conv.id}"[:64],
                now=now,
            )
    await session.flush()
    return [c.id for c in breached]


# --- customer context -------------------------------------------------------------------


async def customer_context(session: AsyncSession, actor: Actor, conversation_id: str) -> dict[str, Any]:
    """What the console shows beside the chat: the customer, their organisation, and what the
    domain knows about them (recent orders, open acceptance discrepancies) once those exist."""
    conv = await _support_conversation(session, actor, conversation_id)
    customer = await session.get(User, conv.created_by)
    org = await session.get(Organisation, conv.customer_org_id) if conv.customer_org_id else None
    context: dict[str, Any] = {
        "customer": {"id": customer.id, "name": customer.display_name, "role": customer.role}
        if customer
        else None,
        "organisation": {"id": org.id, "name": org.name, "kind": org.kind, "code": org.code} if org else None,
        "recent_orders": [],
        "open_discrepancies": [],
    }
    if org is not None:
        from backend.messaging import context as domain_context

        context["recent_orders"] = await domain_context.recent_orders(session, org.id)
        context["open_discrepancies"] = await domain_context.open_discrepancies(session, org.id)
    return context
