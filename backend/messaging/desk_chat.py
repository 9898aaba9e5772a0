"""The desk's own voice: a system user ("Support desk") that writes to people directly, in an
ordinary direct conversation, through the ordinary send path — so the message reaches the phone
and the web like any chat (live event, unread, a chat push when they have no live socket).

Used by the SLA escalation: the team lead gets a direct message from the desk, beside the
breach push. The desk user is inactive (it cannot sign in) and never offered tickets.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.identity import Actor, Organisation, User
from backend.messaging.models import Conversation, Message
from backend.messaging.service import SendRequest, _add_member, send_messages

DESK_USERNAME = "support-desk"
DESK_NAME = "Support desk · 客服台"


async def desk_user(session: AsyncSession, org_id: str) -> User:
    """The desk's user (created in ``org_id`` the first time)."""
    found = (await session.execute(select(User).where(User.username == DESK_USERNAME))).scalar_one_or_none()
    if found is not None:
        return found
    user = User(
        org_id=org_id, username=DESK_USERNAME, display_name=DESK_NAME, role="support_agent",
        password_hash="!", active=False,
    )  # fmt: skip
    try:
        async with session.begin_nested():
            session.add(user)
    except IntegrityError:  # another escalation made it meanwhile
        return (await session.execute(select(User).where(User.username == DESK_USERNAME))).scalar_one()
    return user


async def tell(
    session: AsyncSession, to: User, *, body: str, client_message_id: str, meta: dict[str, Any] | None = None
) -> Message:
    """A direct message from the desk to ``to`` (once per ``client_message_id``)."""
    desk = await desk_user(session, to.org_id)
    key = ":".join(sorted([desk.id, to.id]))
    conv = (
        await session.execute(select(Conversation).where(Conversation.direct_key == key))
    ).scalar_one_or_none()
    if conv is None:
        conv = Conversation(kind="direct", title="", created_by=desk.id, direct_key=key, last_seq=0)
        session.add(conv)
        await session.flush()
        await _add_member(session, conv, desk.id, "owner")
        await _add_member(session, conv, to.id, "member")
    org = await session.get(Organisation, desk.org_id)
    actor = Actor(
        user_id=desk.id, org_id=desk.org_id, org_kind=org.kind if org else "platform", role=desk.role
    )
    [result] = await send_messages(session, [SendRequest(actor, conv.id, client_message_id, body, (), meta)])
    if not isinstance(result, Message):
        raise result
    return result
