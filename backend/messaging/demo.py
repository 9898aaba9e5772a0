"""Demo chats: a supplier↔distributor conversation, a support conversation waiting in the queue,
another already claimed, and a few canned replies for the console."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.demo_network import DemoNetwork
from backend.identity import Actor, User
from backend.messaging import CannedReply, service, support

CANNED = [
    ("Greeting", "Hello, thanks for reaching out. I am looking into this now."),
    (
        "Delivery check",
        "I have asked the carrier for the delivery manifest; I will update you within the hour.",
    ),
    ("Closing", "Glad we could help. I am marking this as resolved; reply here if anything else comes up."),
]


def _actor(net: DemoNetwork, username: str) -> Actor | None:
    user: User | None = net.users.get(username)
    if user is None:
        return None
    org = next(
        (
            o
            for o in [net.platform, *net.suppliers, *net.distributors]
            if o is not None and o.id == user.org_id
        ),
        None,
    )
    return Actor(user_id=user.id, org_id=user.org_id, org_kind=org.kind if org else "", role=user.role)


async def seed(session: AsyncSession, net: DemoNetwork) -> None:
    """Add this domain's demo rows to session (the caller commits)."""
    net.progress("conversations")
    supplier, dist, field, agent = (
        _actor(net, n) for n in ("supplier-a", "dist-north", "field-north", "support")
    )
    if not (supplier and dist and field and agent):
        return
    session.add_all(CannedReply(title=t, body=b) for t, b in CANNED)
    conv = await service.create_conversation(session, supplier, kind="direct", member_ids=[dist.user_id])
    lines = [
        (supplier, "Your order for next week is confirmed; we ship on Monday."),
        (dist, "Great, can you add 20 cases of sparkling water?"),
        (supplier, "Done. Quota left for beverages this month: 380 cases."),
    ]
    for n, (who, body) in enumerate(lines):
        await service.send_message(
            session, who, conversation_id=conv.id, client_message_id=f"demo-{n}", body=body
        )
    await support.open_support_conversation(
        session,
        dist,
        subject="Delivery arrived short",
        body="Delivery for order 1042 arrived with 3 cases missing. What should we do?",
        client_message_id="demo-support-1",
    )
    claimed = await support.open_support_conversation(
        session,
        field,
        subject="Cannot sync photos",
        body="The app says 'upload paused' for two inspection photos.",
        client_message_id="demo-support-2",
    )
    await support.claim(session, agent, claimed.id)
    await support.reply(
        session,
        agent,
        claimed.id,
        body="Thanks — photos resume when the signal is back; nothing is lost. Is it still paused?",
        client_message_id="demo-support-3",
    )
    await support.add_note(
        session, agent, claimed.id, body="Known issue with the old app build; suggest update."
    )
