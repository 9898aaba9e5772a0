"""What a message does to a support ticket (called by ``send_messages`` for every send path:
REST, sync push and the socket's batched writer).

An agent's message: the customer is no longer waiting, the first response is recorded and the
next-response clock stops. A customer's message: they are waiting again (from then on the
next-response clock runs, once there was a first response), a snooze ends, and a resolved
ticket reopens — unless the message is the answer to the satisfaction question, which is
recorded instead. Everything a batch needs (teams, pending ratings) is loaded in two queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.messaging import csat, sla
from backend.messaging.desk_models import CsatRating, SupportTeam
from backend.messaging.models import Conversation, ConversationMember, Message


@dataclass
class DeskBatch:
    session: AsyncSession
    teams: dict[str, SupportTeam] = field(default_factory=dict)
    pending_csat: dict[str, CsatRating] = field(default_factory=dict)


async def load(session: AsyncSession, convs: list[Conversation]) -> DeskBatch | None:
    if not convs:
        return None
    team_ids = {c.team_id for c in convs if c.team_id}
    teams = {}
    if team_ids:
        rows = await session.execute(select(SupportTeam).where(SupportTeam.id.in_(team_ids)))
        teams = {t.id: t for t in rows.scalars()}
    return DeskBatch(session, teams, await csat.pending(session, [c.id for c in convs]))


def after_message(batch: DeskBatch, conv: Conversation, member: ConversationMember, msg: Message) -> None:
    now = sla.now()
    if member.role == "agent" or (msg.meta or {}).get("kind") == "csat":
        if (msg.meta or {}).get("kind") == "csat":
            return  # the rating question is no answer to the customer
        conv.waiting_since = None
        conv.next_response_due_at = None
        if conv.first_response_at is None:
            conv.first_response_at = now
        return
    if member.role != "customer":
        return
    pending = batch.pending_csat.get(conv.id)
    rating = csat.parse_rating(msg.body)
    if pending is not None and rating is not None:
        pending.rating, pending.rated_at = rating, now
        csat.announce(batch.session, pending)
        del batch.pending_csat[conv.id]
        return
    conv.snoozed_until = None
    if conv.waiting_since is None:
        conv.waiting_since = now
        if conv.first_response_at is not None:
            team = batch.teams.get(conv.team_id or "")
            targets = sla.Targets.of(team, _first_response_default())
            conv.next_response_due_at = sla.Calendar.of(team).add(now, targets.next_response_s)
    if conv.status == "resolved":
        conv.status = "claimed" if conv.assignee_id else "waiting"
        conv.resolved_at = None
        team = batch.teams.get(conv.team_id or "")
        targets = sla.Targets.of(team, _first_response_default())
        conv.resolution_due_at = sla.Calendar.of(team).add(now, targets.resolution_s)


def _first_response_default() -> int:
    from backend.messaging.service import policy

    return policy().first_response_s
