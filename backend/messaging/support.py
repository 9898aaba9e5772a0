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
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.events import queue_event
from backend.identity import Actor, Organisation, User
from backend.messaging import csat, desk, desk_chat, errors, sla
from backend.messaging.desk_models import SlaBreach
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
        now = sla.now()
        team = await desk.default_team(session)
        targets = sla.Targets.of(team, policy().first_response_s)
        calendar = sla.Calendar.of(team)
        conv = Conversation(
            kind="support",
            title=subject,
            created_by=actor.user_id,
            customer_org_id=actor.org_id,
            status="waiting",
            last_seq=0,
            created_at=now,
            waiting_since=now,
            team_id=team.id if team else None,
            first_response_due_at=calendar.add(now, targets.first_response_s),
            resolution_due_at=calendar.add(now, targets.resolution_s),
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
    await desk.route_waiting(session)
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
    previous = conv.assignee_id
    await _set_assignee(session, conv, agent_id)
    await session.flush()
    _announce(session, conv, "assigned")
    if previous and previous != agent_id:
        await desk.route_waiting(session)
    return conv


async def resolve(
    session: AsyncSession, actor: Actor, conversation_id: str, *, ask_rating: bool = True
) -> Conversation:
    """Resolve: the next-response and resolution clocks stop, the customer is asked for a 1-5
    rating (once per ticket), and the agent's freed place may bring them a queued ticket."""
    conv = await _support_conversation(session, actor, conversation_id)
    if conv.status == "resolved":
        return conv
    conv.status, conv.resolved_at, conv.waiting_since = "resolved", sla.now(), None
    conv.next_response_due_at = conv.resolution_due_at = conv.snoozed_until = None
    await session.flush()
    _announce(session, conv, "resolved")
    if ask_rating:
        await csat.request_rating(session, actor, conv)
    await desk.route_waiting(session)
    return conv


async def reopen(session: AsyncSession, actor: Actor, conversation_id: str) -> Conversation:
    conv = await _support_conversation(session, actor, conversation_id)
    if conv.status != "resolved":
        raise errors.InvalidTransition("only a resolved conversation reopens")
    conv.status = "claimed" if conv.assignee_id else "waiting"
    conv.resolved_at = None
    team = await desk.team_of(session, conv)
    targets = sla.Targets.of(team, policy().first_response_s)
    conv.resolution_due_at = sla.Calendar.of(team).add(sla.now(), targets.resolution_s)
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
    await desk.notify_mentions(session, actor, conv, note)
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
    """Record each target a ticket missed (first response, next response, resolution) once, and
    tell people: the team lead by an internal note that @mentions them (their chat in the
    console), a direct message from the support desk (:mod:`backend.messaging.desk_chat`) and a
    push; for a first response also every active administrator, as before.

    Returns the ids of the tickets with a new breach.
    """
    now = now or sla.now()
    overdue_first = and_(Conversation.first_response_at.is_(None), Conversation.first_response_due_at < now)
    stmt = (
        select(Conversation)
        .where(
            Conversation.kind == "support",
            Conversation.status != "resolved",
            or_(overdue_first, Conversation.next_response_due_at < now, Conversation.resolution_due_at < now),
        )
        .order_by(Conversation.id)
        .limit(500)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    candidates = list((await session.execute(stmt)).scalars())
    if not candidates:
        return []
    known = {
        (b.conversation_id, b.target, b.due_at)
        for b in (
            await session.execute(
                select(SlaBreach).where(SlaBreach.conversation_id.in_([c.id for c in candidates]))
            )
        ).scalars()
    }
    supervisors = list(
        (await session.execute(select(User.id).where(User.role == "admin", User.active))).scalars()
    )
    teams = {t.id: t for t in await desk.teams(session)}
    breached: list[str] = []
    for conv in candidates:
        missed = [
            (target, due)
            for target, due in (
                ("first_response", conv.first_response_due_at if conv.first_response_at is None else None),
                ("next_response", conv.next_response_due_at),
                ("resolution", conv.resolution_due_at),
            )
            if due is not None and due < now and (conv.id, target, due) not in known
        ]
        if not missed:
            continue
        breached.append(conv.id)
        team = teams.get(conv.team_id or "")
        for target, due in missed:
            session.add(
                SlaBreach(
                    conversation_id=conv.id,
                    target=target,
                    due_at=due,
                    breached_at=now,
                    team_id=conv.team_id,
                    agent_id=conv.assignee_id,
                )
            )
            if target == "first_response":
                conv.escalated_at = now
            await _alert_breach(
                session, conv, target, team, supervisors if target == "first_response" else [], now
            )
        _announce(session, conv, "escalated")
    await session.flush()
    return breached


WHAT_ZH = {"first_response": "首次响应", "next_response": "下次响应", "resolution": "解决时限"}


async def _alert_breach(
    session: AsyncSession, conv: Conversation, target: str, team: Any, supervisors: list[str], now: datetime
) -> None:
    what = {"first_response": "first response", "next_response": "next response", "resolution": "resolution"}
    lead = await session.get(User, team.lead_id) if team is not None and team.lead_id else None
    if lead is not None and lead.active:
        # the lead's chat: a direct message from the desk (phone and web, like any chat) ...
        await desk_chat.tell(
            session,
            lead,
            body=f"SLA breached: {what[target]} target missed on “{conv.title}”. Please take a look.\n"
            f"服务时限超时：工单“{conv.title}”未达{WHAT_ZH[target]}目标，请处理。",
            client_message_id=f"sla:{conv.id}:{target}:{int(now.timestamp())}"[:64],
            meta={"kind": "sla_breach", "conversation_id": conv.id, "target": target},
        )
        # ... and a note in the ticket, for the agents there (a toast in the lead's console)
        desk_user = await desk_chat.desk_user(session, lead.org_id)
        note = SupportNote(
            conversation_id=conv.id,
            author_id=desk_user.id,
            body=f"SLA breached: {what[target]} target missed. @{lead.username} please take a look.",
        )
        session.add(note)
        await session.flush()
        queue_event(
            session,
            SUPPORT_SCOPE,
            {"type": "support.note", "conversation_id": conv.id, "note": note.sync_data()},
        )
        queue_event(
            session,
            f"user:{lead.id}",
            {
                "type": "support.mention",
                "conversation_id": conv.id,
                "note_id": note.id,
                "title": conv.title,
                "body": note.body,
                "sla": target,
            },
        )
    for user_id in {*supervisors, *([lead.id] if lead is not None and lead.active else [])}:
        await notifications.enqueue(
            session,
            user_id=user_id,
            kind="alert",
            title="Support response overdue"
            if target == "first_response"
            else f"Support {what[target]} overdue",
            body=f"No {what[target]} in time: {conv.title}",
            data={"conversation_id": conv.id, "target": target},
            collapse_key=f"sla:{conv.id}"[:64],
            now=now,
        )


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
        "stock_discrepancies": [],
        "inspections": [],
        "labels": (await desk.labels_of(session, [conv.id])).get(conv.id, []),
    }
    from backend.messaging import context as domain_context

    if org is not None:
        context["recent_orders"] = await domain_context.recent_orders(session, org.id)
        context["open_discrepancies"] = await domain_context.open_discrepancies(session, org.id)
        context["stock_discrepancies"] = await domain_context.stock_discrepancies(session, org.id)
        context["inspections"] = await domain_context.recent_inspections(session, org.id)
    context["device"] = await domain_context.last_device(session, conv.created_by) if customer else None
    return context
