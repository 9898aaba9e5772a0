"""The one place inspections decide who sees and who uses which templates and inspections."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.catalog import ChannelAuthorisation
from backend.identity import Actor
from backend.identity.errors import NotAllowed
from backend.inspections.models import Inspection, InspectionTemplate

TEMPLATE_OWNER_KINDS = ("supplier", "distributor")


def require_template_owner(actor: Actor, owner_id: str, owner_kind: str) -> None:
    """Administrators, or staff of the supplier or distributor that owns the template."""
    if actor.is_admin:
        return
    staff_role = "supplier_staff" if owner_kind == "supplier" else "distributor_staff"
    if actor.role == staff_role and actor.org_id == owner_id:
        return
    raise NotAllowed("only an administrator or the owner's staff may change this template")


def authorising_suppliers(distributor_id: str) -> Select:
    return select(ChannelAuthorisation.supplier_id).where(
        ChannelAuthorisation.distributor_id == distributor_id, ChannelAuthorisation.active.is_(True)
    )


def template_visibility(actor: Actor, stmt: Select) -> Select:
    """Owners see their templates; a distributor also sees those of suppliers that authorised it."""
    if actor.is_admin:
        return stmt
    if actor.org_kind == "supplier":
        return stmt.where(InspectionTemplate.owner_id == actor.org_id)
    if actor.org_kind == "distributor":
        return stmt.where(
            or_(
                InspectionTemplate.owner_id == actor.org_id,
                InspectionTemplate.owner_id.in_(authorising_suppliers(actor.org_id)),
            )
        )
    return stmt.where(false())


def usable_by(template: Any, distributor_id: str, authorising: set[str]) -> bool:
    """:func:`template_usable_by` on facts read already (``authorising``: the suppliers with an
    active authorisation of the distributor)."""
    if template.owner_kind == "distributor":
        return template.owner_id == distributor_id
    return template.owner_id in authorising


def inspection_visible(actor: Actor, row: Any) -> bool:
    """:func:`inspection_visibility` of one inspection row in memory."""
    if actor.is_admin:
        return True
    if actor.org_kind == "distributor":
        return row.distributor_id == actor.org_id
    if actor.org_kind == "supplier":
        return row.template_owner_id == actor.org_id
    return False


async def template_usable_by(
    session: AsyncSession, template: InspectionTemplate, distributor_id: str
) -> bool:
    """May inspections at the terminals of ``distributor_id`` use this template?"""
    if template.owner_kind == "distributor":
        return template.owner_id == distributor_id
    row = await session.execute(
        authorising_suppliers(distributor_id).where(ChannelAuthorisation.supplier_id == template.owner_id)
    )
    return row.first() is not None


def inspection_visibility(actor: Actor, stmt: Select, model: type = Inspection) -> Select:
    """Distributors see their terminals' inspections, suppliers the ones against their templates."""
    if actor.is_admin:
        return stmt
    if actor.org_kind == "distributor":
        return stmt.where(model.distributor_id == actor.org_id)
    if actor.org_kind == "supplier" and model is Inspection:
        return stmt.where(Inspection.template_owner_id == actor.org_id)
    return stmt.where(false())


def require_distributor_side(actor: Actor) -> None:
    if not actor.is_admin and actor.org_kind != "distributor":
        raise NotAllowed("only the terminal's distributor works on its inspections")
