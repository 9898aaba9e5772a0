"""Requests from distributors to suppliers: file, answer, accept, decline, deliver, comment.

```
open ──answer──▶ answered ──accept──▶ accepted ──deliver──▶ delivered
  │  └─accept─────────────────────────▲
  └─decline (from open or answered)──▶ declined
```

The distributor's people file and comment; the supplier's staff answer, accept, decline and
deliver (and comment). Every step is an event row both sides replicate, and a push ("alert") to
the other side's people through the notifications outbox, in the same transaction.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime

import msgspec
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.catalog import ChannelAuthorisation, Product
from backend.db import utcnow
from backend.identity import Actor, Organisation, User
from backend.identity.errors import NotAllowed, OrgNotFound
from backend.media import service as media
from backend.media.errors import MediaNotFound
from backend.media.visibility import register_record_type
from backend.notifications.service import enqueue
from backend.requests.errors import InvalidRequest, RequestIdTaken, RequestNotFound, RequestState
from backend.requests.models import KINDS, MET_STATUSES, OPEN_STATUSES, RequestEvent, SupplierRequest

SUPPLIER_STEPS = {
    "answer": (("open", "answered"), "answered"),
    "accept": (("open", "answered"), "accepted"),
    "decline": (("open", "answered"), "declined"),
    "deliver": (("accepted",), "delivered"),
}
ACTIONS = (*SUPPLIER_STEPS, "comment")
HEADLINES = {
    "filed": "New request", "answer": "Request answered", "accept": "Request accepted",
    "decline": "Request declined", "deliver": "Request delivered", "comment": "New comment on a request",
}  # fmt: skip
DISTRIBUTOR_ROLES = ("distributor_staff", "field_staff", "inspector")
RECORD_TYPE = "supplier_request"


def can_see(actor: Actor, request: SupplierRequest) -> bool:
    return actor.is_admin or actor.org_id in (request.distributor_id, request.supplier_id)


def visibility(actor: Actor, stmt: Select, model: type = SupplierRequest) -> Select:
    if actor.is_admin:
        return stmt
    return stmt.where((model.distributor_id == actor.org_id) | (model.supplier_id == actor.org_id))


async def get_request(
    session: AsyncSession, actor: Actor, request_id: str, *, lock: bool = False
) -> SupplierRequest:
    request = await session.get(SupplierRequest, request_id, with_for_update=lock or None)
    if request is None or not can_see(actor, request):
        raise RequestNotFound("no such request")
    return request


async def events_of(session: AsyncSession, request_id: str) -> list[RequestEvent]:
    rows = await session.execute(
        select(RequestEvent)
        .where(RequestEvent.request_id == request_id)
        .order_by(RequestEvent.at, RequestEvent.id)
    )
    return list(rows.scalars())


async def _notify(session: AsyncSession, request: SupplierRequest, event: RequestEvent, actor: Actor) -> None:
    """A push to the other side: the supplier's staff, or the distributor's staff and the filer."""
    if actor.org_id == request.supplier_id:
        users = select(User.id).where(
            User.org_id == request.distributor_id, User.active.is_(True),
            (User.role == "distributor_staff") | (User.id == request.created_by),
        )  # fmt: skip
    else:
        users = select(User.id).where(
            User.org_id == request.supplier_id, User.active.is_(True), User.role == "supplier_staff"
        )
    title = f"{HEADLINES[event.action]}: {request.title}"[:120]
    for user_id in sorted(set((await session.execute(users)).scalars()) - {actor.user_id}):
        await enqueue(
            session, user_id=user_id, kind="alert", title=title, body=event.note[:200] or None,
            data={"type": "supplier_request", "request_id": request.id, "status": request.status},
        )  # fmt: skip


async def file_request(
    session: AsyncSession,
    actor: Actor,
    *,
    request_id: str | None,
    supplier_id: str,
    kind: str,
    title: str,
    body: str = "",
    product_id: str | None = None,
    photo_sha256s: Sequence[str] = (),
    distributor_id: str | None = None,
) -> SupplierRequest:
    """A distributor's request to a supplier that authorises it (idempotent on the client id)."""
    if actor.is_admin:
        if distributor_id is None:
            raise InvalidRequest("name the distributor the request is for", code="org_required")
    elif actor.org_kind != "distributor" or actor.role not in DISTRIBUTOR_ROLES:
        raise NotAllowed("requests are filed by a distributor's people")
    else:
        distributor_id = actor.org_id
    if kind not in KINDS:
        raise InvalidRequest(f"kind must be one of {', '.join(KINDS)}")
    if not title.strip():
        raise InvalidRequest("a request needs a title")
    if request_id is not None:
        existing = await session.get(SupplierRequest, request_id)
        if existing is not None:
            if existing.created_by == actor.user_id:
                return existing
            raise RequestIdTaken("a request with this id exists")
    authorised = (
        await session.execute(
            select(ChannelAuthorisation.id).where(
                ChannelAuthorisation.supplier_id == supplier_id,
                ChannelAuthorisation.distributor_id == distributor_id,
                ChannelAuthorisation.active.is_(True),
            )
        )
    ).first()
    supplier = await session.get(Organisation, supplier_id)
    if supplier is None or supplier.kind != "supplier" or authorised is None:
        raise OrgNotFound(f"no supplier {supplier_id} works with you")
    if product_id is not None:
        product = await session.get(Product, product_id)
        if product is None or product.supplier_id != supplier_id:
            raise InvalidRequest("the product is not one of that supplier's", code="product_not_found")
    request = SupplierRequest(
        distributor_id=distributor_id, supplier_id=supplier_id, kind=kind, title=title.strip(), body=body,
        product_id=product_id, photo_sha256s=list(photo_sha256s), created_by=actor.user_id,
    )  # fmt: skip
    if request_id is not None:
        request.id = request_id
    session.add(request)
    await session.flush()
    await attach_uploaded(session, actor, request)
    await _record(session, actor, request, "filed", body[:500])
    return request


async def attach_uploaded(session: AsyncSession, actor: Actor, request: SupplierRequest) -> None:
    """Attach the request's photos already uploaded, so the supplier may see them; photos uploaded
    later are attached at the distributor's next step on the request (a comment, say)."""
    for sha256 in request.photo_sha256s or []:
        try:
            await media.attach(session, actor, sha256=sha256, record_type=RECORD_TYPE, record_id=request.id)
        except MediaNotFound:
            continue


async def can_view_request(session: AsyncSession, actor: Actor, record_id: str) -> bool:
    """Who may see a request's photos: its distributor, its supplier, administrators."""
    request = await session.get(SupplierRequest, record_id) if len(record_id) <= 32 else None
    return request is not None and can_see(actor, request)


async def _record(
    session: AsyncSession, actor: Actor, request: SupplierRequest, action: str, note: str
) -> RequestEvent:
    event = RequestEvent(
        request_id=request.id, distributor_id=request.distributor_id, supplier_id=request.supplier_id,
        action=action, status=request.status, note=note, by_user_id=actor.user_id, by_org_id=actor.org_id,
    )  # fmt: skip
    session.add(event)
    await session.flush()
    await _notify(session, request, event, actor)
    return event


async def act(
    session: AsyncSession,
    actor: Actor,
    *,
    request_id: str,
    action: str,
    note: str = "",
    now: datetime | None = None,
) -> SupplierRequest:
    """Take a step on a request (see the module's diagram); ``decline`` needs a note."""
    now = now or utcnow()
    if action not in ACTIONS:
        raise InvalidRequest(f"action must be one of {', '.join(ACTIONS)}")
    request = await get_request(session, actor, request_id, lock=True)
    if actor.org_id == request.distributor_id:
        await attach_uploaded(session, actor, request)
    if action == "comment":
        if not note.strip():
            raise InvalidRequest("a comment needs a note")
        await _record(session, actor, request, action, note)
        return request
    if not (actor.is_admin or (actor.org_id == request.supplier_id and actor.role == "supplier_staff")):
        raise NotAllowed("only the supplier's staff answer, accept, decline or deliver a request")
    allowed_from, to = SUPPLIER_STEPS[action]
    if request.status not in allowed_from:
        raise RequestState(
            f"a {request.status} request cannot be {to}", details={"status": request.status, "action": action}
        )
    if action == "decline" and not note.strip():
        raise InvalidRequest("say why the request is declined")
    request.status = to
    if request.first_answered_at is None:
        request.first_answered_at = now
    if to in ("declined", "delivered"):
        request.closed_at = now
    await _record(session, actor, request, action, note)
    return request


class RequestFigures(msgspec.Struct):
    requests: int
    open: int
    met: int  # accepted or delivered
    declined: int
    share_met: float | None
    median_hours_to_answer: float | None


async def request_figures(
    session: AsyncSession, *, distributor_id: str | None = None, supplier_id: str | None = None
) -> RequestFigures:
    stmt = select(SupplierRequest.status, SupplierRequest.created_at, SupplierRequest.first_answered_at)
    if distributor_id is not None:
        stmt = stmt.where(SupplierRequest.distributor_id == distributor_id)
    if supplier_id is not None:
        stmt = stmt.where(SupplierRequest.supplier_id == supplier_id)
    rows = (await session.execute(stmt)).all()
    hours = [(a - c).total_seconds() / 3600 for _s, c, a in rows if a is not None]
    met = sum(1 for s, *_ in rows if s in MET_STATUSES)
    return RequestFigures(
        requests=len(rows),
        open=sum(1 for s, *_ in rows if s in OPEN_STATUSES),
        met=met,
        declined=sum(1 for s, *_ in rows if s == "declined"),
        share_met=round(met / len(rows), 3) if rows else None,
        median_hours_to_answer=round(statistics.median(hours), 1) if hours else None,
    )


register_record_type(RECORD_TYPE, can_view_request)
