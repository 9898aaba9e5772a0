"""What an acceptance sets off in other domains, in the same transaction.

Accepted quantities flow into expected stock (``backend.inventory``), and the finalised
record is appended to the evidence log (``backend.evidence``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.acceptance.models import Acceptance, AcceptanceLine

# TODO(domain-field, media): replace these guarded imports with plain ones once
# backend.inventory.service.record_movement and backend.evidence.service.append_record land on main.
try:
    from backend.inventory.service import record_movement  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - until the inventory service lands
    record_movement = None
try:
    from backend.evidence.service import append_record  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - until the evidence service lands
    append_record = None


async def record_stock(
    session: AsyncSession, acceptance: Acceptance, lines: Sequence[AcceptanceLine]
) -> None:
    """A purchase delivery adds to the distributor's warehouse; a sales delivery moves stock
    from the distributor's warehouse to the terminal's shelf."""
    if record_movement is None:
        return
    for line in lines:
        if line.accepted == 0:
            continue
        common: dict[str, Any] = {
            "product_id": line.product_id,
            "ref_id": acceptance.id,
            "occurred_at": acceptance.accepted_at,
        }
        if acceptance.kind == "purchase":
            await record_movement(
                session,
                org_id=acceptance.distributor_id,
                qty_delta=line.accepted,
                reason="delivery",
                **common,
            )
        else:
            await record_movement(
                session, org_id=acceptance.terminal_id, qty_delta=line.accepted, reason="delivery", **common
            )
            await record_movement(
                session, org_id=acceptance.distributor_id, qty_delta=-line.accepted, reason="sale", **common
            )


async def record_evidence(session: AsyncSession, acceptance: Acceptance, document: dict[str, Any]) -> None:
    """Append the finalised acceptance to the tamper-evident evidence log."""
    if append_record is None:
        return
    await append_record(
        session,
        record_type="acceptance",
        record_id=acceptance.id,
        document=document,
        photo_hashes=list(acceptance.photo_sha256s or []),
    )
