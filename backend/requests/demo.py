"""Demo requests: the north distributor's requests to Supplier A in every state."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.demo_network import DemoNetwork
from backend.requests.service import act, file_request
from backend.territory.demo import demo_actor

REQUESTS = [
    ("custom_packaging", "Shrink-wrapped 6-packs for the festival", ["answer", "accept", "deliver"]),
    ("new_sku", "A 250 ml size of the bestseller", ["answer", "decline"]),
    ("complaint", "Crushed cartons in the last delivery", ["answer"]),
    ("feedback", "Shops ask for the new flavour again", []),
]


async def seed(session: AsyncSession, net: DemoNetwork) -> None:
    net.progress("requests to suppliers")
    distributor, supplier = demo_actor(net, "dist-north"), demo_actor(net, "supplier-a")
    for kind, title, steps in REQUESTS:
        request = await file_request(
            session, distributor, request_id=None, supplier_id=supplier.org_id, kind=kind, title=title,
            body="Filed from the demo network.",
        )  # fmt: skip
        for step in steps:
            note = "Not in this year's range." if step == "decline" else f"{step} (demo)"
            await act(session, supplier, request_id=request.id, action=step, note=note)
