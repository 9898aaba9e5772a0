"""What an acceptance sets off: stock movements, photo attachment and visibility, the evidence log."""

from __future__ import annotations

import json

from sqlalchemy import select

from backend.acceptance import service as acceptance
from backend.evidence import service as evidence
from backend.evidence.canonical import canonical_json
from backend.evidence.sources import record_loader
from backend.inventory.models import StockLocation, StockMovement
from backend.media.visibility import can_view_record
from backend.orders import service as orders
from tests.orders.kit import bring_to, purchase, sale


async def _accept_with_one_short(session, cast, make):
    order = await bring_to(session, cast, await make(session, cast), "shipped")
    delivery = next(
        d for d in (await orders.list_deliveries(session, cast["admin"])).items if d.order_id == order.id
    )
    lines = await orders.delivery_lines(session, delivery.id)
    items = [{"delivery_line_id": x.id, "accepted": x.qty - 1, "short": 1} for x in lines]
    record = await acceptance.record_acceptance(
        session, cast["inspector"], delivery_id=delivery.id, lines=items, photo_sha256s=["e" * 64]
    )
    return record, lines


async def _movements(session, ref_id: str) -> dict[tuple[str, str], int]:
    rows = await session.execute(
        select(StockLocation.org_id, StockMovement.product_id, StockMovement.qty_delta, StockMovement.reason)
        .join(StockLocation, StockLocation.id == StockMovement.location_id)
        .where(StockMovement.ref_id == ref_id)
    )
    return {(org, product, reason): qty for org, product, qty, reason in rows}


async def test_acceptances_move_stock(session, cast):
    # A purchase adds the accepted quantities to the distributor's warehouse.
    record, lines = await _accept_with_one_short(session, cast, purchase)
    moved = await _movements(session, record.id)
    assert moved == {(cast.distributor.id, x.product_id, "delivery"): x.qty - 1 for x in lines}
    # A sale moves them from the warehouse onto the terminal's shelf.
    record, lines = await _accept_with_one_short(session, cast, sale)
    moved = await _movements(session, record.id)
    expected = {}
    for x in lines:
        expected[(cast.terminal.id, x.product_id, "delivery")] = x.qty - 1
        expected[(cast.distributor.id, x.product_id, "sale")] = -(x.qty - 1)
    assert moved == expected


async def test_the_acceptance_is_logged_as_evidence_and_its_photos_visible_to_its_parties(session, cast):
    record, _ = await _accept_with_one_short(session, cast, purchase)
    for role, allowed in (
        ("dist_staff", True),
        ("inspector", True),
        ("supplier", True),
        ("admin", True),
        ("other_dist", False),
        ("other_supplier", False),
        ("support", False),
    ):
        assert await can_view_record(session, cast[role], "acceptance", record.id) is allowed, role
    entries = await evidence.entries_for(session, "acceptance", record.id)
    assert len(entries) == 1 and entries[0].kind == "record"
    logged = json.loads(entries[0].document)
    assert logged["id"] == record.id and logged["has_discrepancy"] is True
    session.expunge_all()
    stored = await record_loader("acceptance")(session, record.id)
    assert canonical_json(stored) == entries[0].document.encode()
