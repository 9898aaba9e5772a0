"""The support desk's working rules: agents' presence and capacity, round-robin routing, teams,
labels, snoozing, @mentions in notes, macros and merging two tickets of one customer.

Routing: a waiting ticket nobody has goes to an agent who is *online* (their own choice) with
a live console socket, whose open tickets are fewer than their capacity, in the ticket's team
(or any team when the ticket has none); among those, the one assigned longest ago (round
robin). :func:`route_waiting` runs when a ticket opens and whenever someone may have room —
an agent comes online or gets more capacity, a ticket is resolved, merged or handed over — and
every minute with the escalation job, so a queued ticket is re-offered when an agent frees up.
On PostgreSQL the online agents' rows are locked first, so two routings never both fill the
last place of one agent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.events import queue_event
from backend.identity import Actor, User
from backend.messaging import errors, presence, sla
from backend.messaging.desk_models import (
    AGENT_STATUSES,
    ConversationLabel,
    SupportAgent,
    SupportMacro,
    SupportTeam,
)
from backend.messaging.models import SUPPORT_SCOPE, Conversation, SupportNote
from backend.notifications import service as notifications

MAX_LABELS = 20
LABEL = re.compile(r"^[\w][\w .:/-]{0,39}$", re.UNICODE)
MENTION = re.compile(r"@([\w.\-]{1,120})", re.UNICODE)
DEFAULT_CAPACITY = 5


def _is_pg(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


# --- presence ------------------------------------------------------------------------------


async def agent_state(session: AsyncSession, user_id: str, *, create: bool = False) -> SupportAgent | None:
    row = await session.get(SupportAgent, user_id)
    if row is None and create:
        row = SupportAgent(user_id=user_id, status="offline", capacity=DEFAULT_CAPACITY)
        session.add(row)
        await session.flush()
    return row


async def set_status(session: AsyncSession, actor: Actor, status: str) -> SupportAgent:
    """An agent says they are online, busy or offline; coming online may bring them tickets."""
    from backend.messaging.support import require_agent

    require_agent(actor)
    if status not in AGENT_STATUSES:
        raise errors.InvalidConversation(
            f"status is one of {', '.join(AGENT_STATUSES)}", code="invalid_agent_status"
        )
    row = await agent_state(session, actor.user_id, create=True)
    assert row is not None
    row.status, row.status_changed_at = status, sla.now()
    await session.flush()
    queue_event(session, SUPPORT_SCOPE, {"type": "agent.status", "user_id": actor.user_id, "status": status})
    if status == "online":
        await route_waiting(session)
    return row


async def configure_agent(
    session: AsyncSession, actor: Actor, user_id: str, *, capacity: int | None, team_id: str | None
) -> SupportAgent:
    """An administrator sets an agent's capacity and team."""
    if not actor.is_admin:
        raise errors.NotAnAgent("only an administrator changes an agent's capacity or team", code="forbidden")
    user = await session.get(User, user_id)
    if user is None or user.role not in ("support_agent", "admin"):
        raise errors.NotAnAgent("that user is not a support agent", code="invalid_agent")
    if team_id is not None and await session.get(SupportTeam, team_id) is None:
        raise errors.InvalidConversation("that team does not exist", code="team_not_found")
    row = await agent_state(session, user_id, create=True)
    assert row is not None
    if capacity is not None:
        row.capacity = capacity
    if team_id is not None:
        row.team_id = team_id or None
    await session.flush()
    await route_waiting(session)
    return row


async def open_load(session: AsyncSession, user_ids: Sequence[str]) -> dict[str, int]:
    """Open (not resolved) tickets per agent."""
    if not user_ids:
        return {}
    rows = await session.execute(
        select(Conversation.assignee_id, func.count())
        .where(
            Conversation.kind == "support",
            Conversation.status != "resolved",
            Conversation.assignee_id.in_(list(user_ids)),
        )
        .group_by(Conversation.assignee_id)
    )
    return {user_id: n for user_id, n in rows.tuples()}


async def route_waiting(session: AsyncSession, *, limit: int = 100) -> list[tuple[str, str]]:
    """Offer waiting tickets to online agents with room, round robin; ``[(ticket, agent)]``."""
    from backend.messaging.support import _announce, _set_assignee

    stmt = (
        select(SupportAgent)
        .join(User, User.id == SupportAgent.user_id)
        .where(SupportAgent.status == "online", User.active)
        .order_by(SupportAgent.user_id)
    )
    if _is_pg(session):
        stmt = stmt.with_for_update(of=SupportAgent)
    agents = list((await session.execute(stmt)).scalars())
    if not agents:
        return []
    connected = await presence.online_users(session, [a.user_id for a in agents])
    agents = [a for a in agents if a.user_id in connected]
    if not agents:
        return []
    load = await open_load(session, [a.user_id for a in agents])
    waiting_stmt = (
        select(Conversation)
        .where(
            Conversation.kind == "support",
            Conversation.status == "waiting",
            Conversation.assignee_id.is_(None),
            or_(Conversation.snoozed_until.is_(None), Conversation.snoozed_until <= sla.now()),
        )
        .order_by(Conversation.created_at, Conversation.id)
        .limit(limit)
    )
    if _is_pg(session):
        waiting_stmt = waiting_stmt.with_for_update(skip_locked=True)
    routed = []
    epoch = datetime.min.replace(tzinfo=sla.now().tzinfo)
    for conv in (await session.execute(waiting_stmt)).scalars():
        room = [
            a
            for a in agents
            if load.get(a.user_id, 0) < a.capacity
            and (conv.team_id is None or a.team_id in (None, conv.team_id))
        ]
        if not room:
            continue
        agent = min(room, key=lambda a: (a.last_assigned_at or epoch, a.user_id))
        await _set_assignee(session, conv, agent.user_id)
        # strictly increasing, so two assignments in one run keep their round-robin order
        stamp = sla.now()
        if agent.last_assigned_at is not None and stamp <= agent.last_assigned_at:
            stamp = agent.last_assigned_at + timedelta(microseconds=1)
        agent.last_assigned_at = stamp
        load[agent.user_id] = load.get(agent.user_id, 0) + 1
        await session.flush()
        _announce(session, conv, "assigned")
        routed.append((conv.id, agent.user_id))
    return routed


async def agents_overview(session: AsyncSession) -> list[dict[str, object]]:
    """Every active agent with status, capacity, team and open tickets (the console's list)."""
    rows = (
        await session.execute(
            select(User, SupportAgent)
            .outerjoin(SupportAgent, SupportAgent.user_id == User.id)
            .where(User.role.in_(("support_agent", "admin")), User.active)
            .order_by(User.display_name)
        )
    ).tuples()
    rows = list(rows)
    connected = await presence.online_users(session, [u.id for u, _ in rows])
    load = await open_load(session, [u.id for u, _ in rows])
    return [
        {
            "id": u.id,
            "name": u.display_name,
            "username": u.username,
            "role": u.role,
            "status": a.status if a else "offline",
            "connected": u.id in connected,
            "capacity": a.capacity if a else DEFAULT_CAPACITY,
            "team_id": a.team_id if a else None,
            "open": load.get(u.id, 0),
        }
        for u, a in rows
    ]


# --- teams -------------------------------------------------------------------------------


async def save_team(
    session: AsyncSession,
    actor: Actor,
    *,
    name: str,
    lead_id: str | None,
    timezone: str,
    hours: dict[str, list[list[int]]],
    holidays: list[str],
    first_response_s: int,
    next_response_s: int,
    resolution_s: int,
    is_default: bool,
) -> SupportTeam:
    """Create or update (by name) a team; administrators only."""
    if not actor.is_admin:
        raise errors.NotAnAgent("only an administrator manages teams", code="forbidden")
    if sla.Calendar(timezone)._zone().key != timezone:  # noqa: SLF001
        raise errors.InvalidConversation(f"unknown time zone {timezone!r}", code="invalid_timezone")
    for day, spans in hours.items():
        if day not in {str(d) for d in range(7)} or any(not 0 <= s < e <= 1440 for s, e in spans):
            raise errors.InvalidConversation(
                "hours map weekday 0-6 to [start_min, end_min] spans within a day", code="invalid_hours"
            )
    team = (await session.execute(select(SupportTeam).where(SupportTeam.name == name))).scalar_one_or_none()
    if team is None:
        team = SupportTeam(name=name)
        session.add(team)
    team.lead_id, team.timezone, team.hours, team.holidays = lead_id, timezone, hours, holidays
    team.first_response_s, team.next_response_s, team.resolution_s = (
        first_response_s,
        next_response_s,
        resolution_s,
    )
    if is_default:
        for other in (await session.execute(select(SupportTeam).where(SupportTeam.is_default))).scalars():
            other.is_default = False
    team.is_default = is_default
    await session.flush()
    return team


async def default_team(session: AsyncSession) -> SupportTeam | None:
    return (
        await session.execute(select(SupportTeam).where(SupportTeam.is_default).limit(1))
    ).scalar_one_or_none()


async def teams(session: AsyncSession) -> list[SupportTeam]:
    return list((await session.execute(select(SupportTeam).order_by(SupportTeam.name))).scalars())


async def team_of(session: AsyncSession, conv: Conversation) -> SupportTeam | None:
    return await session.get(SupportTeam, conv.team_id) if conv.team_id else None


# --- labels and snoozing -------------------------------------------------------------------


def clean_labels(labels: Sequence[str]) -> list[str]:
    out = sorted({label.strip().lower() for label in labels if label.strip()})
    if len(out) > MAX_LABELS or any(not LABEL.match(label) for label in out):
        raise errors.InvalidConversation(
            f"at most {MAX_LABELS} labels of 1-40 letters, digits, spaces or . : / -", code="invalid_label"
        )
    return out


async def labels_of(session: AsyncSession, conversation_ids: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if not conversation_ids:
        return out
    rows = await session.execute(
        select(ConversationLabel.conversation_id, ConversationLabel.label)
        .where(ConversationLabel.conversation_id.in_(list(conversation_ids)))
        .order_by(ConversationLabel.label)
    )
    for cid, label in rows.tuples():
        out.setdefault(cid, []).append(label)
    return out


async def set_labels(
    session: AsyncSession, conv: Conversation, labels: Sequence[str], *, add: bool = False
) -> list[str]:
    wanted = clean_labels(labels)
    current = (await labels_of(session, [conv.id])).get(conv.id, [])
    if add:
        wanted = clean_labels([*current, *wanted])
    await session.execute(
        delete(ConversationLabel).where(
            ConversationLabel.conversation_id == conv.id, ConversationLabel.label.notin_(wanted)
        )
    )
    session.add_all([ConversationLabel(conversation_id=conv.id, label=x) for x in wanted if x not in current])
    await session.flush()
    queue_event(
        session, SUPPORT_SCOPE, {"type": "support.updated", "conversation_id": conv.id, "change": "labels"}
    )
    return wanted


async def all_labels(session: AsyncSession) -> list[tuple[str, int]]:
    rows = await session.execute(
        select(ConversationLabel.label, func.count())
        .group_by(ConversationLabel.label)
        .order_by(ConversationLabel.label)
    )
    return list(rows.tuples())


def snooze(session: AsyncSession, conv: Conversation, until: datetime | None) -> None:
    if until is not None and until <= sla.now():
        raise errors.InvalidConversation("snooze until a time in the future", code="invalid_snooze")
    if conv.status == "resolved" and until is not None:
        raise errors.InvalidTransition("a resolved ticket is not snoozed")
    conv.snoozed_until = until
    queue_event(
        session, SUPPORT_SCOPE, {"type": "support.updated", "conversation_id": conv.id, "change": "snooze"}
    )


# --- mentions ----------------------------------------------------------------------------


async def notify_mentions(
    session: AsyncSession, actor: Actor, conv: Conversation, note: SupportNote
) -> list[str]:
    """``@username`` of an agent in a note: a live event and a push to that agent."""
    names = {m.lower() for m in MENTION.findall(note.body)}
    if not names:
        return []
    rows = await session.execute(
        select(User.id, User.username).where(
            func.lower(User.username).in_(names), User.role.in_(("support_agent", "admin")), User.active
        )
    )
    mentioned = [uid for uid, _ in rows.tuples() if uid != actor.user_id]
    for user_id in mentioned:
        queue_event(
            session,
            f"user:{user_id}",
            {
                "type": "support.mention",
                "conversation_id": conv.id,
                "note_id": note.id,
                "by": actor.user_id,
                "title": conv.title,
                "body": note.body[:200],
            },
        )
        await notifications.enqueue(
            session,
            user_id=user_id,
            kind="alert",
            title=f"Mentioned in: {conv.title}"[:120],
            body=note.body[:200],
            data={"conversation_id": conv.id, "note_id": note.id},
            collapse_key=f"mention:{note.id}"[:64],
        )
    return mentioned


# --- macros ------------------------------------------------------------------------------


async def save_macro(
    session: AsyncSession,
    actor: Actor,
    *,
    title: str,
    reply_body: str,
    add_labels: Sequence[str],
    assign_to: str | None,
    resolve: bool,
) -> SupportMacro:
    from backend.messaging.support import require_agent

    require_agent(actor)
    labels = clean_labels(add_labels)
    if assign_to not in (None, "me") and await session.get(User, assign_to) is None:
        raise errors.NotAnAgent("assign to an active support agent", code="invalid_agent")
    if not (reply_body.strip() or labels or assign_to or resolve):
        raise errors.InvalidConversation("a macro does at least one thing", code="empty_macro")
    macro = (
        await session.execute(select(SupportMacro).where(SupportMacro.title == title))
    ).scalar_one_or_none()
    if macro is None:
        macro = SupportMacro(title=title, created_by=actor.user_id)
        session.add(macro)
    macro.reply_body, macro.add_labels, macro.assign_to, macro.resolve = (
        reply_body.strip(),
        labels,
        assign_to,
        resolve,
    )
    await session.flush()
    return macro


async def macros(session: AsyncSession) -> list[SupportMacro]:
    return list((await session.execute(select(SupportMacro).order_by(SupportMacro.title))).scalars())


async def apply_macro(
    session: AsyncSession, actor: Actor, conversation_id: str, macro_id: str, *, client_message_id: str
) -> Conversation:
    """Reply from the template, add the labels, assign, resolve: one transaction, in that order."""
    from backend.messaging import support

    macro = await session.get(SupportMacro, macro_id)
    if macro is None:
        raise errors.ConversationNotFound("that macro does not exist", code="macro_not_found")
    conv = await support._support_conversation(session, actor, conversation_id)  # noqa: SLF001
    if macro.reply_body:
        await support.reply(
            session, actor, conv.id, body=macro.reply_body, client_message_id=client_message_id
        )
    if macro.add_labels:
        await set_labels(session, conv, macro.add_labels, add=True)
    if macro.assign_to:
        target = actor.user_id if macro.assign_to == "me" else macro.assign_to
        if conv.assignee_id != target:
            if conv.assignee_id is None or conv.assignee_id == actor.user_id or actor.is_admin:
                await support.assign(session, actor, conv.id, agent_id=target)
            else:
                raise errors.InvalidTransition("only its current agent transfers it", code="not_assignee")
    if macro.resolve:
        await support.resolve(session, actor, conv.id)
    return conv


# --- merging -----------------------------------------------------------------------------


async def merge(session: AsyncSession, actor: Actor, source_id: str, target_id: str) -> Conversation:
    """Fold ``source`` into ``target`` (one customer's two tickets): the source's messages become an
    internal note on the target, its labels join the target's, and the source is resolved
    with ``merged_into_id`` pointing at the target. Nothing is deleted."""
    from backend.messaging import support
    from backend.messaging.models import Message

    if source_id == target_id:
        raise errors.InvalidTransition("a ticket is not merged into itself", code="merge_same")
    source = await support._support_conversation(session, actor, source_id)  # noqa: SLF001
    target = await support._support_conversation(session, actor, target_id)  # noqa: SLF001
    if source.created_by != target.created_by:
        raise errors.InvalidTransition(
            "only tickets of the same customer are merged", code="merge_other_customer"
        )
    if source.merged_into_id or target.merged_into_id:
        raise errors.InvalidTransition("that ticket was merged already", code="already_merged")
    names = dict(
        list(
            (
                await session.execute(
                    select(User.id, User.display_name).where(
                        User.id.in_(select(Message.sender_id).where(Message.conversation_id == source.id))
                    )
                )
            ).tuples()
        )
    )
    lines = [
        f"{names.get(m.sender_id, '?')} ({m.created_at:%Y-%m-%d %H:%M} UTC): {m.body}"
        for m in (
            await session.execute(
                select(Message)
                .where(Message.conversation_id == source.id, Message.deleted_at.is_(None))
                .order_by(Message.seq)
            )
        ).scalars()
    ]
    transcript = f"Merged from “{source.title}”:\n" + "\n".join(lines)
    await support.add_note(session, actor, target.id, body=transcript[: support.policy().message_max_chars])
    labels = (await labels_of(session, [source.id])).get(source.id, [])
    if labels:
        await set_labels(session, target, labels, add=True)
    source.merged_into_id = target.id
    await support.resolve(session, actor, source.id, ask_rating=False)
    return target
