"""What an acceptance sets off in other domains, in the same transaction.

Accepted quantities flow into expected stock (``backend.inventory``); photos the phone has
already uploaded are attached (``backend.media``; later ones are attached as they arrive and
logged as supplements); the finalised record is appended to the evidence log.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from backend.acceptance.models import Acceptance, AcceptanceLine
from backend.evidence import service as evidence
from backend.identity import Actor
from backend.inventory.service import record_movement
from backend.media import service as media
from backend.media.errors import MediaNotFound

RECORD_TYPE = "acceptance"


async def record_stock(
    session: AsyncSession, acceptance: Acceptance, lines: Sequence[AcceptanceLine]
) -> None:
    """A purchase delivery adds to the distributor's warehouse; a sales delivery moves stock
    from the distributor's warehouse onto the terminal's shelf."""
    for line in lines:
        if line.accepted == 0:
            continue
        move = {"product_id": line.product_id, "ref_id": acceptance.id, "occurred_at": acceptance.accepted_at}
        if acceptance.kind == "purchase":
            await record_movement(
                session, org_id=acceptance.distributor_id, qty_delta=line.accepted, reason="delivery", **move
            )
        else:
            await record_movement(
                session,
                org_id=acceptance.terminal_id or "",
                qty_delta=line.accepted,
                reason="delivery",
                **move,
            )
            await record_movement(
                session, org_id=acceptance.distributor_id, qty_delta=-line.accepted, reason="sale", **move
            )


async def attach_uploaded(session: AsyncSession, actor: Actor, acceptance: Acceptance) -> list[str]:
    """Attach the referenced photos (and signature) already uploaded; return the attached hashes."""
    wanted = [(h, "photo") for h in acceptance.photo_sha256s or []]
    if acceptance.signature_sha256:
        wanted.append((acceptance.signature_sha256, "signature"))
    for sha256, kind in wanted:
        try:
            await media.attach(
                session, actor, sha256=sha256, record_type=RECORD_TYPE, record_id=acceptance.id, kind=kind
            )
        except MediaNotFound:
            continue  # not uploaded yet: attached (and logged as a supplement) when it arrives
    return await media.attached_hashes(session, RECORD_TYPE, acceptance.id)


async def record_evidence(
    session: AsyncSession, acceptance: Acceptance, document: dict, photo_hashes: list[str]
) -> None:
    """Append the finalised acceptance to the tamper-evident evidence log."""
    await evidence.append_record(
        session,
        record_type=RECORD_TYPE,
        record_id=acceptance.id,
        document=document,
        photo_hashes=photo_hashes,
    )
