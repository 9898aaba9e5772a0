"""Goods acceptance: one proof of delivery per delivery; discrepancies open a claim.

The first acceptance submitted for a delivery wins. The delivery row is locked before the
existing acceptance is looked up, so two concurrent submissions cannot both win; the later
one gets ``acceptance_exists`` carrying the server's record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.acceptance import effects
from backend.acceptance.errors import (
    AcceptanceExists,
    AcceptanceNotFound,
    ClaimNotFound,
    ClaimResolved,
    InvalidAcceptance,
)
from backend.acceptance.models import Acceptance, AcceptanceLine, Claim
from backend.db import utcnow
from backend.evidence.sources import register_record_source
from backend.identity import Actor
from backend.identity.errors import NotAllowed
from backend.media.visibility import register_record_type
from backend.orders import access
from backend.orders import service as orders
from backend.orders.errors import DeliveryNotFound
from backend.orders.models import Delivery, DeliveryLine
from backend.orders.states import ROLES, may_act

SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_PHOTOS = 50
MAX_NOTES = 4000
COUNTS = ("accepted", "short", "damaged", "wrong")
CLOCK_SKEW = timedelta(minutes=10)


def _utc_iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def acceptance_document(acceptance: Acceptance, lines: Sequence[AcceptanceLine]) -> dict[str, Any]:
    """The record as the server holds it: conflict details, the evidence log and its verifier.

    Built from stored values only (UTC times, lines in delivery-line order) so re-reading it from
    the tables later yields the same document.
    """
    gps = [acceptance.gps_lat, acceptance.gps_lon] if acceptance.gps_lat is not None else None
    return {
        "id": acceptance.id,
        "delivery_id": acceptance.delivery_id,
        "order_id": acceptance.order_id,
        "kind": acceptance.kind,
        "distributor_id": acceptance.distributor_id,
        "supplier_id": acceptance.supplier_id,
        "terminal_id": acceptance.terminal_id,
        "recorded_by": acceptance.recorded_by,
        "device_id": acceptance.device_id,
        "accepted_at": _utc_iso(acceptance.accepted_at),
        "recorded_at": _utc_iso(acceptance.recorded_at),
        "notes": acceptance.notes,
        "gps": gps,
        "signature_sha256": acceptance.signature_sha256,
        "photo_sha256s": list(acceptance.photo_sha256s or []),
        "has_discrepancy": acceptance.has_discrepancy,
        "lines": [
            {
                "delivery_line_id": x.delivery_line_id,
                "product_id": x.product_id,
                "shipped": x.shipped,
                "accepted": x.accepted,
                "short": x.short,
                "damaged": x.damaged,
                "wrong": x.wrong,
            }
            for x in sorted(lines, key=lambda x: x.delivery_line_id)
        ],
    }


async def acceptance_lines(session: AsyncSession, acceptance_id: str) -> list[AcceptanceLine]:
    stmt = (
        select(AcceptanceLine)
        .where(AcceptanceLine.acceptance_id == acceptance_id)
        .order_by(AcceptanceLine.id)
    )
    return list((await session.execute(stmt)).scalars())


def _invalid(message: str, **details: Any) -> InvalidAcceptance:
    return InvalidAcceptance(message, details=details or None)


def _count(item: Mapping[str, Any], key: str) -> int:
    value = item.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= orders.MAX_QTY:
        raise _invalid(f"{key} must be a whole number from 0 to {orders.MAX_QTY}", field=key, value=value)
    return value


def _match_lines(
    delivery_lines: Sequence[DeliveryLine], items: Sequence[Mapping[str, Any]]
) -> list[tuple[DeliveryLine, dict[str, int]]]:
    """Pair each submitted line with its delivery line; every delivery line exactly once."""
    by_id = {dl.id: dl for dl in delivery_lines}
    by_product = {dl.product_id: dl for dl in delivery_lines}
    matched: dict[str, tuple[DeliveryLine, dict[str, int]]] = {}
    for item in items:
        if not isinstance(item, Mapping):
            raise _invalid("each line is an object")
        line_ref, product_ref = item.get("delivery_line_id"), item.get("product_id")
        dl = (by_id.get(line_ref) if isinstance(line_ref, str) else None) or (
            by_product.get(product_ref) if isinstance(product_ref, str) else None
        )
        if dl is None:
            raise _invalid(
                "a line names no line of this delivery",
                delivery_line_id=item.get("delivery_line_id"),
                product_id=item.get("product_id"),
            )
        if dl.id in matched:
            raise _invalid("a delivery line is given twice", delivery_line_id=dl.id)
        counts = {key: _count(item, key) for key in COUNTS}
        if sum(counts.values()) != dl.qty:
            raise _invalid(
                "accepted + short + damaged + wrong must equal the quantity shipped",
                delivery_line_id=dl.id,
                product_id=dl.product_id,
                shipped=dl.qty,
                counted=sum(counts.values()),
            )
        matched[dl.id] = (dl, counts)
    missing = [dl.id for dl in delivery_lines if dl.id not in matched]
    if missing:
        raise _invalid("every line of the delivery must be counted", missing_delivery_line_ids=missing)
    return [matched[dl.id] for dl in delivery_lines]


def _evidence(
    gps: Sequence[float] | None, signature_sha256: str | None, photo_sha256s: Sequence[str] | None
) -> tuple[float | None, float | None, str | None, list[str]]:
    lat = lon = None
    if gps is not None:
        try:
            lat, lon = (float(v) for v in gps)
        except (TypeError, ValueError):
            raise _invalid("gps is a pair (latitude, longitude)", field="gps") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise _invalid("gps is out of range", field="gps")
    if signature_sha256 is not None and not (
        isinstance(signature_sha256, str) and SHA256.match(signature_sha256)
    ):
        raise _invalid("signature_sha256 is 64 lowercase hex characters", field="signature_sha256")
    if photo_sha256s is not None and not isinstance(photo_sha256s, list | tuple):
        raise _invalid("photo_sha256s is a list of hashes", field="photo_sha256s")
    photos = list(photo_sha256s or [])
    if len(photos) > MAX_PHOTOS:
        raise _invalid(f"at most {MAX_PHOTOS} photos", field="photo_sha256s")
    if any(not (isinstance(h, str) and SHA256.match(h)) for h in photos):
        raise _invalid("each photo hash is 64 lowercase hex characters", field="photo_sha256s")
    return lat, lon, signature_sha256, list(dict.fromkeys(photos))


async def _locked_delivery(session: AsyncSession, actor: Actor, delivery_id: str) -> Delivery:
    return await access.one(session, actor, Delivery, delivery_id, DeliveryNotFound, "delivery", lock=True)


async def record_acceptance(
    session: AsyncSession,
    actor: Actor,
    *,
    acceptance_id: str | None = None,
    delivery_id: str,
    lines: Sequence[Mapping[str, Any]],
    notes: str = "",
    gps: Sequence[float] | None = None,
    signature_sha256: str | None = None,
    photo_sha256s: Sequence[str] = (),
    accepted_at: datetime | None = None,
) -> Acceptance:
    """Accept a shipped delivery line by line; the order becomes delivered.

    The same acceptance id again returns the stored record (a retried upload); any other
    acceptance of an accepted delivery raises ``acceptance_exists`` with the server's record.
    """
    acceptance_id = orders.checked_id(acceptance_id, "acceptance_id")
    if not isinstance(lines, list | tuple):
        raise _invalid("lines is a list", field="lines")
    delivery = await _locked_delivery(session, actor, delivery_id)
    order = await orders.lock_order(session, actor, order_id=delivery.order_id)
    if not may_act(actor, order, "receiver"):
        raise NotAllowed(
            f"only the distributor's {' or '.join(ROLES[(order.kind, 'receiver')])} may accept goods"
        )
    existing = (
        await session.execute(select(Acceptance).where(Acceptance.delivery_id == delivery.id))
    ).scalar_one_or_none()
    if existing is not None:
        if existing.id == acceptance_id:
            return existing
        raise AcceptanceExists(
            "this delivery was accepted already",
            details=acceptance_document(existing, await acceptance_lines(session, existing.id)),
        )
    if await session.get(Acceptance, acceptance_id) is not None:
        raise AcceptanceExists(
            "an acceptance with this id exists for another delivery", code="acceptance_id_taken"
        )
    if notes is not None and (not isinstance(notes, str) or len(notes) > MAX_NOTES):
        raise _invalid(f"notes are text of at most {MAX_NOTES} characters", field="notes")
    now = utcnow()
    accepted_at = accepted_at or now
    if isinstance(accepted_at, str):
        try:
            accepted_at = datetime.fromisoformat(accepted_at)
        except ValueError:
            raise _invalid("accepted_at is an ISO 8601 time", field="accepted_at") from None
    if not isinstance(accepted_at, datetime):
        raise _invalid("accepted_at is an ISO 8601 time", field="accepted_at")
    if accepted_at.tzinfo is None:
        raise _invalid("accepted_at must carry a time zone", field="accepted_at")
    accepted_at = accepted_at.astimezone(UTC)
    if accepted_at > now + CLOCK_SKEW:
        raise _invalid("accepted_at is in the future", field="accepted_at")
    lat, lon, signature, photos = _evidence(gps, signature_sha256, photo_sha256s)
    matched = _match_lines(await orders.delivery_lines(session, delivery.id), lines)
    await orders.mark_delivered(session, actor, order)  # checks the order is shipped

    parties = {
        "kind": delivery.kind,
        "distributor_id": delivery.distributor_id,
        "supplier_id": delivery.supplier_id,
        "terminal_id": delivery.terminal_id,
    }
    discrepant = [(dl, c) for dl, c in matched if c["short"] or c["damaged"] or c["wrong"]]
    acceptance = Acceptance(
        id=acceptance_id,
        delivery_id=delivery.id,
        order_id=order.id,
        recorded_by=actor.user_id,
        device_id=actor.device_id,
        accepted_at=accepted_at,
        recorded_at=now,
        notes=(notes or "").strip(),
        gps_lat=lat,
        gps_lon=lon,
        signature_sha256=signature,
        photo_sha256s=photos,
        has_discrepancy=bool(discrepant),
        **parties,
    )
    session.add(acceptance)
    await session.flush()
    rows = [
        AcceptanceLine(
            acceptance_id=acceptance.id,
            delivery_line_id=dl.id,
            product_id=dl.product_id,
            shipped=dl.qty,
            **counts,
            **parties,
        )
        for dl, counts in matched
    ]
    session.add_all(rows)
    if discrepant:
        session.add(
            Claim(
                acceptance_id=acceptance.id,
                delivery_id=delivery.id,
                order_id=order.id,
                short_qty=sum(c["short"] for _, c in discrepant),
                damaged_qty=sum(c["damaged"] for _, c in discrepant),
                wrong_qty=sum(c["wrong"] for _, c in discrepant),
                items=[
                    {"delivery_line_id": dl.id, "product_id": dl.product_id, **{k: c[k] for k in COUNTS[1:]}}
                    for dl, c in discrepant
                ],
                opened_at=now,
                **parties,
            )
        )
    delivery.state = "accepted"
    delivery.accepted_at = accepted_at
    await session.flush()
    await effects.record_stock(session, acceptance, rows)
    attached = await effects.attach_uploaded(session, actor, acceptance)
    await effects.record_evidence(session, acceptance, acceptance_document(acceptance, rows), attached)
    return acceptance


async def get_acceptance(session: AsyncSession, actor: Actor, *, acceptance_id: str) -> Acceptance:
    return await access.one(session, actor, Acceptance, acceptance_id, AcceptanceNotFound, "acceptance")


async def can_view_acceptance(session: AsyncSession, actor: Actor, record_id: str) -> bool:
    """Who may see an acceptance's photos: its distributor, its supplier (or terminal), admins."""
    if not access.is_ref(record_id):
        return False
    stmt = access.visible(actor, Acceptance, select(Acceptance.id).where(Acceptance.id == record_id))
    return (await session.execute(stmt)).first() is not None


async def list_acceptances(
    session: AsyncSession,
    actor: Actor,
    *,
    has_discrepancy: bool | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> access.Listing[Acceptance]:
    stmt = access.visible(actor, Acceptance, select(Acceptance))
    if has_discrepancy is not None:
        stmt = stmt.where(Acceptance.has_discrepancy.is_(has_discrepancy))
    return await access.page(session, stmt, Acceptance.id, cursor=cursor, limit=limit)


async def get_claim(session: AsyncSession, actor: Actor, *, claim_id: str) -> Claim:
    return await access.one(session, actor, Claim, claim_id, ClaimNotFound, "claim")


async def list_claims(
    session: AsyncSession,
    actor: Actor,
    *,
    state: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> access.Listing[Claim]:
    if state is not None and state not in ("open", "resolved"):
        raise InvalidAcceptance("state must be open or resolved", code="invalid_filter")
    stmt = access.visible(actor, Claim, select(Claim))
    if state is not None:
        stmt = stmt.where(Claim.state == state)
    return await access.page(session, stmt, Claim.id, cursor=cursor, limit=limit)


async def resolve_claim(session: AsyncSession, actor: Actor, *, claim_id: str, resolution: str) -> Claim:
    """The seller (the supplier for a purchase, the distributor for a sale) settles a claim."""
    claim = await access.one(session, actor, Claim, claim_id, ClaimNotFound, "claim", lock=True)
    seller = claim.supplier_id if claim.kind == "purchase" else claim.distributor_id
    roles = ROLES[(claim.kind, "seller")]
    if not actor.is_admin and (actor.org_id != seller or actor.role not in roles):
        raise NotAllowed(f"only the seller's {' or '.join(roles)} may resolve this claim")
    if claim.state != "open":
        resolved_at = claim.resolved_at.isoformat() if claim.resolved_at else None
        details = {"state": claim.state, "resolution": claim.resolution, "resolved_at": resolved_at}
        raise ClaimResolved("the claim is resolved already", details=details)
    text = resolution.strip() if isinstance(resolution, str) else ""
    if not text or len(text) > MAX_NOTES:
        raise InvalidAcceptance(
            f"a resolution of 1 to {MAX_NOTES} characters is required", code="resolution_required"
        )
    claim.state = "resolved"
    claim.resolution = text
    claim.resolved_at = utcnow()
    claim.resolved_by = actor.user_id
    await session.flush()
    return claim


async def stored_document(session: AsyncSession, record_id: str) -> dict[str, Any] | None:
    """The evidence document of an acceptance as stored now (for ``fieldsync evidence verify``)."""
    acceptance = await session.get(Acceptance, record_id, populate_existing=True)
    if acceptance is None:
        return None
    return acceptance_document(acceptance, await acceptance_lines(session, record_id))


register_record_type(effects.RECORD_TYPE, can_view_acceptance)
register_record_source(effects.RECORD_TYPE, stored_document)
