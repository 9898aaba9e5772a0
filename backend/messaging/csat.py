"""Customer satisfaction: after a resolve the customer gets a message asking for a 1–5 rating
with quick replies (``meta = {"kind": "csat", "quick_replies": ["1", …, "5"]}``, which the app
shows as buttons); their next message that is just a digit 1–5 is the rating. It is recorded
for the agent and team of the ticket and does not reopen it. Asked once per ticket.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.events import queue_event
from backend.identity import Actor
from backend.messaging.desk_models import CsatRating
from backend.messaging.models import SUPPORT_SCOPE, Conversation, ConversationMember

QUICK_REPLIES = ["1", "2", "3", "4", "5"]
META = {"kind": "csat", "quick_replies": QUICK_REPLIES}
QUESTION = "How did we do? Tap 1 (poor) to 5 (excellent).\n我们的服务怎么样？请点选 1（很差）到 5（很好）。"


async def request_rating(session: AsyncSession, actor: Actor, conv: Conversation) -> CsatRating | None:
    """Send the rating question (as the ticket's agent) unless this ticket was asked already."""
    from backend.messaging.service import SendRequest, send_messages

    if await session.get(CsatRating, conv.id) is not None:
        return None
    sender_id = conv.assignee_id or actor.user_id
    is_member = await session.scalar(
        select(ConversationMember.id).where(
            ConversationMember.conversation_id == conv.id, ConversationMember.user_id == sender_id
        )
    )
    if is_member is None:
        return None  # nobody of support is in the conversation to ask
    sender = actor if sender_id == actor.user_id else _as_user(actor, sender_id)
    [msg] = await send_messages(
        session, [SendRequest(sender, conv.id, f"csat-{conv.id}", QUESTION, (), META)]
    )
    row = CsatRating(
        conversation_id=conv.id,
        agent_id=conv.assignee_id,
        team_id=conv.team_id,
        request_message_id=getattr(msg, "id", None),
    )
    session.add(row)
    await session.flush()
    return row


def _as_user(actor: Actor, user_id: str) -> Actor:
    import dataclasses

    return dataclasses.replace(actor, user_id=user_id) if dataclasses.is_dataclass(actor) else actor


def parse_rating(body: str) -> int | None:
    text = body.strip()
    return int(text) if text in QUICK_REPLIES else None


async def pending(session: AsyncSession, conversation_ids: list[str]) -> dict[str, CsatRating]:
    if not conversation_ids:
        return {}
    rows = await session.execute(
        select(CsatRating).where(
            CsatRating.conversation_id.in_(conversation_ids), CsatRating.rating.is_(None)
        )
    )
    return {r.conversation_id: r for r in rows.scalars()}


def announce(session: AsyncSession, row: CsatRating) -> None:
    queue_event(
        session,
        SUPPORT_SCOPE,
        {
            "type": "support.updated",
            "conversation_id": row.conversation_id,
            "change": "csat",
            "rating": row.rating,
        },
    )
