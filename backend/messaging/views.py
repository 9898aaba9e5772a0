"""The console's ticket list: status views, filters, one page of rows and the counts of every
view, all from one predicate per view so the tabs, the list and the badges always agree.

Views (a ticket is in exactly one of the first four):

- ``open``: not resolved, not snoozed, and the ball is with support (the customer wrote last,
  or nobody has the ticket yet);
- ``pending``: waiting on the customer (an agent answered last);
- ``snoozed``: put aside until a time (it comes back to *open* or *pending* by itself then, or
  when the customer writes);
- ``resolved``; and ``all``.

Unread counts are the agent's own: messages after their read marker in tickets they are in.
The header badge sums them over every ticket that is not resolved, and a row shows the same
number, so the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend.identity import Actor, Organisation, User
from backend.messaging import desk, sla
from backend.messaging.desk_models import ConversationLabel, CsatRating
from backend.messaging.models import Conversation, ConversationMember

VIEWS = ("open", "pending", "snoozed", "resolved", "all")


@dataclass(frozen=True, slots=True)
class Filters:
    assignee: str | None = None  # a user id, "me" or "none"
    team_id: str | None = None
    label: str | None = None
    org_id: str | None = None
    region_id: str | None = None


#: Written as a literal (not a bound parameter) so both databases see that a query of live tickets
#: may use the partial index ``ix_conversations_live_queue`` (``WHERE status <> 'resolved'``).
RESOLVED = literal_column("'resolved'")


def view_predicate(view: str, now: datetime) -> Any:
    c = Conversation
    snoozed = and_(c.snoozed_until.is_not(None), c.snoozed_until > now)
    awake = or_(c.snoozed_until.is_(None), c.snoozed_until <= now)
    live = c.status != RESOLVED
    ours = or_(c.waiting_since.is_not(None), c.assignee_id.is_(None))
    return {
        "open": and_(live, awake, ours),
        "pending": and_(live, awake, c.waiting_since.is_(None), c.assignee_id.is_not(None)),
        "snoozed": and_(live, snoozed),
        "resolved": c.status == RESOLVED,
        "all": literal(True),
    }[view]


def _filtered(stmt: Any, actor: Actor, f: Filters) -> Any:
    c = Conversation
    stmt = stmt.where(c.kind == "support")
    if f.assignee == "me":
        stmt = stmt.where(c.assignee_id == actor.user_id)
    elif f.assignee == "none":
        stmt = stmt.where(c.assignee_id.is_(None))
    elif f.assignee:
        stmt = stmt.where(c.assignee_id == f.assignee)
    if f.team_id:
        stmt = stmt.where(c.team_id == f.team_id)
    if f.org_id:
        stmt = stmt.where(c.customer_org_id == f.org_id)
    if f.label:
        stmt = stmt.where(
            c.id.in_(select(ConversationLabel.conversation_id).where(ConversationLabel.label == f.label))
        )
    if f.region_id:
        stmt = stmt.where(
            c.customer_org_id.in_(select(Organisation.id).where(Organisation.region_id == f.region_id))
        )
    return stmt


async def counts(session: AsyncSession, actor: Actor, f: Filters, now: datetime) -> dict[str, int]:
    """Tickets per view under the filters, and ``unread``: the agent's unread in live tickets.

    The live views are counted over the partial index of live tickets (index-only: it holds
    every column their predicates read), resolved ones by the status index; *all* is the sum."""
    cols = [
        func.coalesce(func.sum(case((view_predicate(v, now), 1), else_=0)), 0).label(v) for v in VIEWS[:3]
    ]
    live = select(*cols).where(Conversation.status != RESOLVED)
    out = dict((await session.execute(_filtered(live, actor, f))).one()._mapping)  # noqa: SLF001
    resolved = select(func.count()).select_from(Conversation).where(view_predicate("resolved", now))
    out["resolved"] = await session.scalar(_filtered(resolved, actor, f))
    out["all"] = sum(int(out[v] or 0) for v in VIEWS[:4])
    m = ConversationMember
    unread = await session.scalar(
        select(func.coalesce(func.sum(Conversation.last_seq - m.last_read_seq), 0))
        .select_from(Conversation)
        .join(m, and_(m.conversation_id == Conversation.id, m.user_id == actor.user_id))
        .where(Conversation.kind == "support", Conversation.status != RESOLVED)
    )
    out["unread"] = int(unread or 0)
    return {k: int(v) for k, v in out.items()}


@dataclass(frozen=True, slots=True)
class Row:
    conversation: Conversation
    view: str
    customer_name: str
    customer_role: str
    organisation_name: str
    region_id: str | None
    assignee_name: str | None
    unread: int | None
    labels: list[str]
    clocks: list[sla.Clock]
    rating: int | None


def view_of(conv: Conversation, now: datetime) -> str:
    if conv.status == "resolved":
        return "resolved"
    if conv.snoozed_until is not None and conv.snoozed_until > now:
        return "snoozed"
    if conv.waiting_since is None and conv.assignee_id is not None:
        return "pending"
    return "open"


async def tickets(
    session: AsyncSession,
    actor: Actor,
    *,
    view: str = "open",
    filters: Filters = Filters(),  # noqa: B008 - frozen
    limit: int = 100,
    offset: int = 0,
    ids: list[str] | None = None,
) -> list[Row]:
    """One page of a view: *open* oldest wait first; the others most recent activity first."""
    now = sla.now()
    c = Conversation
    customer, assignee, m = aliased(User), aliased(User), aliased(ConversationMember)
    stmt = (
        select(
            c,
            customer.display_name,
            customer.role,
            Organisation.name,
            Organisation.region_id,
            assignee.display_name,
            m.last_read_seq,
            CsatRating.rating,
        )
        .join(customer, customer.id == c.created_by)
        .outerjoin(Organisation, Organisation.id == c.customer_org_id)
        .outerjoin(assignee, assignee.id == c.assignee_id)
        .outerjoin(m, and_(m.conversation_id == c.id, m.user_id == actor.user_id))
        .outerjoin(CsatRating, CsatRating.conversation_id == c.id)
    )
    stmt = _filtered(stmt, actor, filters)
    stmt = stmt.where(c.id.in_(ids) if ids is not None else view_predicate(view, now))
    if view == "open":
        stmt = stmt.order_by(c.waiting_since.is_(None), c.waiting_since, c.created_at, c.id)
    else:
        # a support ticket opens with its first message, so last_message_at is always set; the
        # index (kind, last_message_at) hands rows in this order: a page joins only its own rows
        stmt = stmt.order_by(c.last_message_at.desc(), c.id.desc())
    # the page's bounds as literals: with ``LIMIT ?`` SQLite plans for every row and sorts
    page = stmt.limit(literal(limit, literal_execute=True)).offset(literal(offset, literal_execute=True))
    rows = list((await session.execute(page)).tuples())
    labels = await desk.labels_of(session, [r[0].id for r in rows])
    teams = {t.id: t for t in await desk.teams(session)}
    return [
        Row(
            conversation=conv,
            view=view_of(conv, now),
            customer_name=cname,
            customer_role=crole,
            organisation_name=oname or "",
            region_id=region,
            assignee_name=aname,
            unread=max(0, conv.last_seq - marker) if marker is not None else None,
            labels=labels.get(conv.id, []),
            clocks=sla.clocks(conv, teams.get(conv.team_id or ""), now),
            rating=rating,
        )
        for conv, cname, crole, oname, region, aname, marker, rating in rows
    ]
