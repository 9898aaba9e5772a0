"""The support desk's API (issue 16; the console calls it): ticket views with counts, search,
presence and routing, teams, labels, snooze, macros, merge, the people of a conversation,
reports with CSV, and the read-only order view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from litestar import Response, get, post, put
from litestar.params import Parameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.bounds import Id, pattern
from backend.identity import Actor, Organisation, Region, User
from backend.messaging import (
    Conversation,
    ConversationMember,
    Message,
    context,
    desk,
    errors,
    reports,
    search,
    sla,
    support,
    views,
)
from backend.orders.errors import OrderNotFound
from mobile_api.params import PathId
from mobile_api.schemas import Strict

QId = Annotated[str | None, Parameter(max_length=64, default=None)]
Weekday = pattern("^[0-6]$", 1)
IsoDay = pattern(r"^\d{4}-\d{2}-\d{2}$", 10)
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Minutes = Annotated[int, msgspec.Meta(ge=0, le=1440)]
Seconds = Annotated[int, msgspec.Meta(ge=60, le=60 * 24 * 3600)]
Text = Annotated[str, msgspec.Meta(max_length=4000)]


# --- responses ---------------------------------------------------------------------------


class ClockOut(msgspec.Struct):
    target: str
    due_at: datetime
    left_s: int
    running: bool
    breached: bool


class TicketOut(msgspec.Struct):
    id: str
    title: str
    status: str | None
    view: str
    customer_id: str
    customer: str
    customer_role: str
    organisation_id: str | None
    organisation: str
    region_id: str | None
    assignee_id: str | None
    assignee: str | None
    team_id: str | None
    labels: list[str]
    unread: int | None
    last_seq: int
    created_at: datetime
    last_message_at: datetime | None
    waiting_since: datetime | None
    snoozed_until: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    merged_into_id: str | None
    escalated: bool
    sla: list[ClockOut]
    rating: int | None

    @classmethod
    def of(cls, r: views.Row) -> TicketOut:
        c = r.conversation
        return cls(
            c.id, c.title, c.status, r.view, c.created_by, r.customer_name, r.customer_role,
            c.customer_org_id, r.organisation_name, r.region_id, c.assignee_id, r.assignee_name,
            c.team_id, r.labels, r.unread, c.last_seq, c.created_at, c.last_message_at,
            c.waiting_since, c.snoozed_until, c.first_response_at, c.resolved_at, c.merged_into_id,
            c.escalated_at is not None,
            [ClockOut(k.target, k.due_at, k.left_s, k.running, k.breached) for k in r.clocks],
            r.rating,
        )  # fmt: skip


class TicketsOut(msgspec.Struct):
    view: str
    counts: dict[str, int]
    items: list[TicketOut]
    now: datetime


class HitOut(msgspec.Struct):
    conversation_id: str
    title: str
    message_id: str | None
    seq: int | None
    snippet: str
    created_at: datetime | None


class PersonOut(msgspec.Struct):
    id: str
    name: str
    username: str
    role: str
    organisation: str
    member_role: str | None
    last_read_seq: int | None


class TeamOut(msgspec.Struct):
    id: str
    name: str
    lead_id: str | None
    timezone: str
    hours: dict[str, list[list[int]]]
    holidays: list[str]
    first_response_s: int
    next_response_s: int
    resolution_s: int
    is_default: bool


class MacroOut(msgspec.Struct):
    id: str
    title: str
    reply_body: str
    add_labels: list[str]
    assign_to: str | None
    resolve: bool


# --- requests ----------------------------------------------------------------------------


class StatusIn(Strict):
    status: Literal["online", "busy", "offline"]


class AgentIn(Strict):
    capacity: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None
    team_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class TeamIn(Strict):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    lead_id: Id | None = None
    timezone: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "UTC"
    hours: Annotated[
        dict[
            Weekday,
            Annotated[
                list[Annotated[list[Minutes], msgspec.Meta(min_length=2, max_length=2)]],
                msgspec.Meta(max_length=4),
            ],
        ],
        msgspec.Meta(max_length=7),
    ] = {}  # noqa: RUF012 - msgspec copies defaults
    holidays: Annotated[list[IsoDay], msgspec.Meta(max_length=366)] = []  # noqa: RUF012
    first_response_s: Seconds = 3600
    next_response_s: Seconds = 3600
    resolution_s: Seconds = 8 * 3600
    is_default: bool = False


class LabelsIn(Strict):
    labels: Annotated[list[Label], msgspec.Meta(max_length=desk.MAX_LABELS)]


class SnoozeIn(Strict):
    until: datetime | None


class MacroIn(Strict):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    reply_body: Text = ""
    add_labels: Annotated[list[Label], msgspec.Meta(max_length=desk.MAX_LABELS)] = []  # noqa: RUF012
    assign_to: Id | None = None
    resolve: bool = False


class ApplyMacroIn(Strict):
    client_message_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class MergeIn(Strict):
    into_id: Id


def _team_out(t: Any) -> TeamOut:
    return TeamOut(
        t.id, t.name, t.lead_id, t.timezone, dict(t.hours or {}), list(t.holidays or []),
        t.first_response_s, t.next_response_s, t.resolution_s, t.is_default,
    )  # fmt: skip


def _macro_out(m: Any) -> MacroOut:
    return MacroOut(m.id, m.title, m.reply_body, list(m.add_labels or []), m.assign_to, m.resolve)


# --- tickets and search --------------------------------------------------------------------


@get("/support/tickets", tags=["support"], summary="A view of tickets with the counts of every view")
async def list_tickets(
    actor: Actor,
    db_session: AsyncSession,
    view: Annotated[
        Literal["open", "pending", "snoozed", "resolved", "all"], Parameter(default="open")
    ] = "open",
    assignee: QId = None,
    team: QId = None,
    label: Annotated[str | None, Parameter(max_length=40, default=None)] = None,
    org: QId = None,
    region: QId = None,
    limit: Annotated[int, Parameter(ge=1, le=200, default=100)] = 100,
    offset: Annotated[int, Parameter(ge=0, le=100_000, default=0)] = 0,
) -> TicketsOut:
    support.require_agent(actor)
    f = views.Filters(assignee=assignee, team_id=team, label=label, org_id=org, region_id=region)
    now = sla.now()
    rows = await views.tickets(db_session, actor, view=view, filters=f, limit=limit, offset=offset)
    counts = await views.counts(db_session, actor, f, now)
    return TicketsOut(view, counts, [TicketOut.of(r) for r in rows], now)


@get("/support/tickets/{conversation_id:str}", tags=["support"], summary="One ticket as a list row")
async def get_ticket(conversation_id: PathId, actor: Actor, db_session: AsyncSession) -> TicketOut:
    support.require_agent(actor)
    rows = await views.tickets(db_session, actor, view="all", ids=[conversation_id[:64]], limit=1)
    if not rows:
        raise errors.ConversationNotFound(f"support conversation {conversation_id} does not exist")
    return TicketOut.of(rows[0])


@get("/support/search", tags=["support"], summary="Full-text search over support messages and subjects")
async def search_tickets(
    actor: Actor, db_session: AsyncSession, q: Annotated[str, Parameter(min_length=1, max_length=200)]
) -> list[HitOut]:
    support.require_agent(actor)
    hits = await search.search(db_session, q)
    return [HitOut(h.conversation_id, h.title, h.message_id, h.seq, h.snippet, h.created_at) for h in hits]


@get("/support/conversations/{conversation_id:str}/people", tags=["support"], summary="Members and senders")
async def people(conversation_id: PathId, actor: Actor, db_session: AsyncSession) -> list[PersonOut]:
    """Everyone who is in or wrote in the conversation, with role, organisation and read marker."""
    conv = await support._support_conversation(db_session, actor, conversation_id)  # noqa: SLF001
    senders = select(Message.sender_id).where(Message.conversation_id == conv.id).distinct()
    members = {
        m.user_id: m
        for m in (
            await db_session.execute(
                select(ConversationMember).where(ConversationMember.conversation_id == conv.id)
            )
        ).scalars()
    }
    rows = await db_session.execute(
        select(User, Organisation.name)
        .join(Organisation, Organisation.id == User.org_id)
        .where((User.id.in_(senders)) | (User.id.in_(list(members))) | (User.id == conv.created_by))
    )
    return [
        PersonOut(
            u.id,
            u.display_name,
            u.username,
            u.role,
            org,
            members[u.id].role if u.id in members else None,
            members[u.id].last_read_seq if u.id in members else None,
        )  # fmt: skip
        for u, org in rows.tuples()
    ]


@get("/support/filters", tags=["support"], summary="Organisations and regions that have tickets")
async def filter_choices(actor: Actor, db_session: AsyncSession) -> dict[str, list[dict[str, str]]]:
    support.require_agent(actor)
    orgs = select(Conversation.customer_org_id).where(Conversation.kind == "support").distinct()
    rows = (
        await db_session.execute(
            select(Organisation.id, Organisation.name, Region.id, Region.name)
            .outerjoin(Region, Region.id == Organisation.region_id)
            .where(Organisation.id.in_(orgs))
            .order_by(Organisation.name)
        )
    ).all()
    regions = {rid: rname for _, _, rid, rname in rows if rid}
    return {
        "organisations": [{"id": oid, "name": name} for oid, name, _, _ in rows],
        "regions": [{"id": rid, "name": n} for rid, n in sorted(regions.items(), key=lambda x: x[1])],
    }


# --- presence, agents, teams ---------------------------------------------------------------


@get("/support/agents", tags=["support"], summary="Agents: status, capacity, team, open tickets")
async def agents(actor: Actor, db_session: AsyncSession) -> list[dict[str, Any]]:
    support.require_agent(actor)
    return await desk.agents_overview(db_session)


@put("/support/me/status", tags=["support"], summary="Online, busy or offline")
async def set_status(data: StatusIn, actor: Actor, db_session: AsyncSession) -> dict[str, Any]:
    row = await desk.set_status(db_session, actor, data.status)
    return {"user_id": row.user_id, "status": row.status, "capacity": row.capacity, "team_id": row.team_id}


@put("/support/agents/{user_id:str}", tags=["support"], summary="Capacity and team (administrators)")
async def configure_agent(
    user_id: PathId, data: AgentIn, actor: Actor, db_session: AsyncSession
) -> dict[str, Any]:
    row = await desk.configure_agent(db_session, actor, user_id, capacity=data.capacity, team_id=data.team_id)
    return {"user_id": row.user_id, "status": row.status, "capacity": row.capacity, "team_id": row.team_id}


@get("/support/teams", tags=["support"])
async def list_teams(actor: Actor, db_session: AsyncSession) -> list[TeamOut]:
    support.require_agent(actor)
    return [_team_out(t) for t in await desk.teams(db_session)]


@post("/support/teams", tags=["support"], summary="Create or update a team by name (administrators)")
async def save_team(data: TeamIn, actor: Actor, db_session: AsyncSession) -> TeamOut:
    team = await desk.save_team(db_session, actor, **msgspec.structs.asdict(data))
    return _team_out(team)


# --- labels, snooze, macros, merge ---------------------------------------------------------


@get("/support/labels", tags=["support"], summary="Labels in use, with how many tickets carry each")
async def list_labels(actor: Actor, db_session: AsyncSession) -> list[dict[str, Any]]:
    support.require_agent(actor)
    return [{"label": label, "tickets": n} for label, n in await desk.all_labels(db_session)]


@put("/support/conversations/{conversation_id:str}/labels", tags=["support"])
async def set_labels(
    conversation_id: PathId, data: LabelsIn, actor: Actor, db_session: AsyncSession
) -> list[str]:
    conv = await support._support_conversation(db_session, actor, conversation_id)  # noqa: SLF001
    return await desk.set_labels(db_session, conv, data.labels)


@put("/support/conversations/{conversation_id:str}/snooze", tags=["support"], summary="Snooze until a time")
async def snooze(
    conversation_id: PathId, data: SnoozeIn, actor: Actor, db_session: AsyncSession
) -> dict[str, Any]:
    conv = await support._support_conversation(db_session, actor, conversation_id)  # noqa: SLF001
    until = data.until.astimezone(UTC) if data.until and data.until.tzinfo else data.until
    if until is not None and until.tzinfo is None:
        raise errors.InvalidConversation("give the time with its offset (e.g. Z)", code="invalid_snooze")
    desk.snooze(db_session, conv, until)
    await db_session.flush()
    return {"id": conv.id, "snoozed_until": conv.snoozed_until}


@get("/support/macros", tags=["support"])
async def list_macros(actor: Actor, db_session: AsyncSession) -> list[MacroOut]:
    support.require_agent(actor)
    return [_macro_out(m) for m in await desk.macros(db_session)]


@post("/support/macros", tags=["support"], summary="Create or update a macro by title")
async def save_macro(data: MacroIn, actor: Actor, db_session: AsyncSession) -> MacroOut:
    return _macro_out(await desk.save_macro(db_session, actor, **msgspec.structs.asdict(data)))


@post("/support/conversations/{conversation_id:str}/macros/{macro_id:str}", tags=["support"], status_code=200)
async def apply_macro(
    conversation_id: PathId, macro_id: PathId, data: ApplyMacroIn, actor: Actor, db_session: AsyncSession
) -> dict[str, Any]:
    conv = await desk.apply_macro(
        db_session, actor, conversation_id, macro_id, client_message_id=data.client_message_id
    )
    return {"id": conv.id, "status": conv.status, "assignee_id": conv.assignee_id}


@post("/support/conversations/{conversation_id:str}/merge", tags=["support"], status_code=200)
async def merge(
    conversation_id: PathId, data: MergeIn, actor: Actor, db_session: AsyncSession
) -> dict[str, Any]:
    target = await desk.merge(db_session, actor, conversation_id, data.into_id)
    return {"id": conversation_id, "merged_into_id": target.id}


# --- reports and the order view --------------------------------------------------------------


def _period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    until = (
        (until or sla.now()).astimezone(UTC) if (until is None or until.tzinfo) else until.replace(tzinfo=UTC)
    )
    since = (
        since.astimezone(UTC)
        if since and since.tzinfo
        else (since.replace(tzinfo=UTC) if since else until - timedelta(days=30))
    )
    if since >= until or until - since > timedelta(days=366):
        raise errors.InvalidConversation(
            "a period of at most a year, since before until", code="invalid_period"
        )
    return since, until


Group = Annotated[Literal["agent", "team", "day"], Parameter(default="day")]


@get(
    "/support/reports",
    tags=["support"],
    summary="Volume, response times, breaches and CSAT by agent, team or day",
)
async def report(
    actor: Actor,
    db_session: AsyncSession,
    since: datetime | None = None,
    until: datetime | None = None,
    group: Group = "day",
) -> dict[str, Any]:
    support.require_agent(actor)
    s, u = _period(since, until)
    return await reports.report(db_session, since=s, until=u, group=group)


@get("/support/reports.csv", tags=["support"], summary="The report as CSV")
async def report_csv(
    actor: Actor,
    db_session: AsyncSession,
    since: datetime | None = None,
    until: datetime | None = None,
    group: Group = "day",
) -> Response[str]:
    support.require_agent(actor)
    s, u = _period(since, until)
    body = reports.to_csv(await reports.report(db_session, since=s, until=u, group=group))
    name = f"support-{group}-{s:%Y%m%d}-{u:%Y%m%d}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@get("/support/orders/{order_id:str}", tags=["support"], summary="One order, read-only (agents)")
async def order_view(order_id: PathId, actor: Actor, db_session: AsyncSession) -> dict[str, Any]:
    support.require_agent(actor)
    found = await context.order_view(db_session, order_id[:64])
    if found is None:
        raise OrderNotFound(f"order {order_id} does not exist")
    return found


ROUTES = [
    list_tickets,
    get_ticket,
    search_tickets,
    filter_choices,
    people,
    agents,
    set_status,
    configure_agent,
    list_teams,
    save_team,
    list_labels,
    set_labels,
    snooze,
    list_macros,
    save_macro,
    apply_macro,
    merge,
    report,
    report_csv,
    order_view,
]
