"""Inventory services: locations, stock checks (immutable observations), movements, levels.

Expected stock at a moment is the last count before it plus the movements in between
(deliveries in, sales out). A check whose count differs from that by more than the configured
ratio is flagged as a discrepancy. Checks may arrive late and out of order (phones record them
offline): the level follows the latest observation by observed time, ties broken by id.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, func, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.batchcache import batch_cache
from backend.catalog.service import get_product
from backend.changefeed.recording import inserted_changes, record_changes
from backend.config import Settings
from backend.db import is_postgres, new_id, utcnow
from backend.identity import Actor, Organisation
from backend.identity.errors import OrgNotFound
from backend.inventory.access import require_can_count, stock_visibility
from backend.inventory.errors import (
    InvalidLocation,
    InvalidMovement,
    InvalidObservedAt,
    InvalidQuantity,
    StockCheckIdTaken,
)
from backend.inventory.models import MOVEMENT_REASONS, StockCheck, StockLevel, StockLocation, StockMovement

DEFAULT_DISCREPANCY_RATIO = Settings().stock_discrepancy_ratio
MAX_QTY = 1_000_000_000
# A phone's clock may run a little fast; a count "observed" a day ahead is a broken clock.
MAX_FUTURE = timedelta(days=1)


async def location_for(session: AsyncSession, org_id: str) -> StockLocation:
    """The stock location of an organisation, created on first use: a distributor's
    warehouse or a terminal's shelf."""
    memo = batch_cache(session, "stock_location")
    if memo is not None:
        known = memo.get(org_id)
        # Still in the database: one created by a mutation whose savepoint rolled back is not.
        if known is not None and inspect(known).persistent:
            return known
    location = await _find_location(session, org_id)
    if memo is not None and location is not None:
        memo[org_id] = location
    return location


async def _find_location(session: AsyncSession, org_id: str) -> StockLocation:
    location = (
        await session.execute(select(StockLocation).where(StockLocation.org_id == org_id))
    ).scalar_one_or_none()
    if location is not None:
        return location
    org = await session.get(Organisation, org_id)
    if org is None:
        raise OrgNotFound(f"organisation {org_id} does not exist")
    if org.kind == "distributor":
        location = StockLocation(org_id=org.id, kind="warehouse", distributor_id=org.id)
    elif org.kind == "terminal" and org.parent_id is not None:
        location = StockLocation(
            org_id=org.id, kind="shelf", distributor_id=org.parent_id, terminal_id=org.id
        )
    else:
        raise InvalidLocation(f"a {org.kind} holds no stock; count a distributor's or a terminal's")
    try:
        async with session.begin_nested():
            session.add(location)
    except IntegrityError:
        # Another transaction created it first (PostgreSQL); use theirs.
        return (
            await session.execute(select(StockLocation).where(StockLocation.org_id == org_id))
        ).scalar_one()
    return location


# Statements of every count, built once (parameters bound per call).
_LEVEL = (
    select(StockLevel)
    .where(
        StockLevel.location_id == bindparam("location_id"), StockLevel.product_id == bindparam("product_id")
    )
    .with_for_update()
)
_LEVEL_AT_ORG = (
    select(StockLevel)
    .join(StockLocation, StockLocation.id == StockLevel.location_id)
    .where(StockLocation.org_id == bindparam("org_id"), StockLevel.product_id == bindparam("product_id"))
    .with_for_update(of=StockLevel)
)
_CHECK_BY_ID = (
    select(StockCheck).where(StockCheck.id == bindparam("check_id")).execution_options(populate_existing=True)
)


async def _locked_level(session: AsyncSession, location_id: str, product_id: str) -> StockLevel | None:
    """The level row of a SKU at a location, locked for the rest of this transaction."""
    params = {"location_id": location_id, "product_id": product_id}
    return (await session.execute(_LEVEL, params)).scalar_one_or_none()


async def _locked_level_at_org(session: AsyncSession, org_id: str, product_id: str) -> StockLevel | None:
    """Like :func:`_locked_level`, found by the location's organisation (no separate location read)."""
    params = {"org_id": org_id, "product_id": product_id}
    return (await session.execute(_LEVEL_AT_ORG, params)).scalar_one_or_none()


async def _insert_level(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert a SKU's first level row; ``False`` if another transaction inserted it first.

    ``ON CONFLICT DO NOTHING`` waits for a concurrent first insert of the same row and then
    yields to it: no savepoint, no unique violation, and the caller locks the winner's row."""
    dialect_insert = pg_insert if is_postgres(session) else sqlite_insert
    stmt = dialect_insert(StockLevel).values(**values).on_conflict_do_nothing().returning(StockLevel)
    level = (await session.execute(stmt)).scalar_one_or_none()
    if level is None:
        return False
    await record_changes(session, inserted_changes(level))
    return True


def _new_level(location: StockLocation, product_id: str, **values: object) -> dict[str, Any]:
    """Column values of a first level row (the columns' defaults fill in the rest)."""
    return {
        "id": new_id(),
        "location_id": location.id,
        "product_id": product_id,
        "distributor_id": location.distributor_id,
        "terminal_id": location.terminal_id,
        "version": 1,
        **values,
    }


def _movement_sums_statement(bounded: bool) -> Select:
    """Movements of a SKU at a location in ``(after, at]`` (everything up to ``at`` unless
    ``bounded``) and after ``at``, and the id of the check called ``check_id`` if one is stored."""
    occurred = StockMovement.occurred_at
    at = bindparam("at")
    within = and_(occurred > bindparam("after"), occurred <= at) if bounded else occurred <= at
    taken = select(StockCheck.id).where(StockCheck.id == bindparam("check_id")).scalar_subquery()
    return select(
        func.coalesce(func.sum(case((within, StockMovement.qty_delta), else_=0)), 0),
        func.coalesce(func.sum(case((occurred > at, StockMovement.qty_delta), else_=0)), 0),
        taken,
    ).where(
        StockMovement.location_id == bindparam("location_id"),
        StockMovement.product_id == bindparam("product_id"),
    )


# Built once: a count reads these once or twice, and building them costs more than running them.
_SUMS_SINCE = _movement_sums_statement(bounded=True)
_SUMS_ALL = _movement_sums_statement(bounded=False)


async def _movement_sums(
    session: AsyncSession,
    location_id: str,
    product_id: str,
    after: datetime | None,
    at: datetime,
    check_id: str | None = None,
) -> tuple[int, int, bool]:
    """Movements in ``(after, at]`` (everything up to ``at`` when ``after`` is None) and after
    ``at``; and whether a check ``check_id`` is stored (asked in the same round trip)."""
    params: dict[str, Any] = {
        "location_id": location_id, "product_id": product_id, "at": at, "check_id": check_id,
    }  # fmt: skip
    if after is not None:
        params["after"] = after
    before, later, taken = (await session.execute(_SUMS_ALL if after is None else _SUMS_SINCE, params)).one()
    return int(before), int(later), taken is not None


async def _recorded_before(
    session: AsyncSession,
    actor: Actor,
    check_id: str | None,
    location_id: str,
    product_id: str,
    qty: int,
) -> StockCheck | None:
    """The check already stored under ``check_id`` (a retry), or ``None``; other facts are refused.

    Asked while the level row is locked, so a retry racing its original waits and then finds it."""
    if check_id is None:
        return None
    existing = (await session.execute(_CHECK_BY_ID, {"check_id": check_id})).scalar_one_or_none()
    if existing is None:
        return None
    same = (existing.location_id, existing.product_id, existing.counted_qty, existing.user_id) == (
        location_id,
        product_id,
        qty,
        actor.user_id,
    )
    if not same:
        raise StockCheckIdTaken(f"stock check {check_id} exists with other facts")
    return existing


def _is_latest(level: StockLevel, observed_at: datetime, check_id: str) -> bool:
    """Whether a count observed at ``observed_at`` is newer than the level's (ties broken by id)."""
    return level.observed_at is None or (observed_at, check_id) > (
        level.observed_at,
        level.last_check_id or "",
    )


def is_discrepancy(counted: int, expected: int | None, ratio: float) -> bool:
    """A count further from the expectation than ``ratio`` of it (at least one unit)."""
    if expected is None:
        return False
    return abs(counted - expected) > ratio * max(abs(expected), 1)


async def record_stock_check(
    session: AsyncSession,
    actor: Actor,
    *,
    check_id: str | None,
    org_id: str,
    product_id: str,
    counted_qty: int,
    observed_at: datetime,
    device_id: str | None,
    discrepancy_ratio: float = DEFAULT_DISCREPANCY_RATIO,
) -> StockCheck:
    """Record one count of a SKU at a distributor's warehouse or a terminal's shelf.

    Idempotent on ``check_id``: the same id with the same facts (location, SKU, quantity, user)
    returns the stored check; with other facts it is refused (``stock_check_id_taken``).
    """
    if isinstance(counted_qty, bool) or not 0 <= counted_qty <= MAX_QTY:
        raise InvalidQuantity(f"counted_qty must be a whole number from 0 to {MAX_QTY}")
    if observed_at.tzinfo is None:
        raise InvalidObservedAt("observed_at needs a time zone")
    now = utcnow()
    if observed_at > now + MAX_FUTURE:
        raise InvalidObservedAt("observed_at is in the future; check the phone's clock")
    observed_at = min(observed_at, now)
    # Usually the SKU was counted here before: one locked read gives the level and its place.
    level = await _locked_level_at_org(session, org_id, product_id)
    location: StockLocation | None = None
    if level is not None:
        await require_can_count(session, actor, level)
        location_id, distributor_id = level.location_id, level.distributor_id
    else:
        location = await location_for(session, org_id)
        await require_can_count(session, actor, location)
        await get_product(session, product_id)
        location_id, distributor_id = location.id, location.distributor_id
    new_check_id = check_id or new_id()
    # The usual case, a newer count of a SKU counted here before: whether ``check_id`` was recorded
    # already (a retry) is asked together with the movement sums, in one statement, below.
    retry_asked_later = level is not None and _is_latest(level, observed_at, new_check_id)
    if not retry_asked_later and (
        retry := await _recorded_before(session, actor, check_id, location_id, product_id, counted_qty)
    ):
        return retry
    check = StockCheck(
        id=new_check_id,
        location_id=location_id,
        product_id=product_id,
        distributor_id=distributor_id,
        counted_qty=counted_qty,
        expected_qty=None,
        discrepancy=False,
        observed_at=observed_at,
        recorded_at=now,
        user_id=actor.user_id,
        device_id=device_id or actor.device_id,
    )
    if level is None:
        assert location is not None
        # No level means no earlier count or movement here: this count is the baseline.
        first = _new_level(
            location, product_id, counted_qty=counted_qty, observed_at=observed_at, last_check_id=check.id,
            expected_qty=counted_qty, discrepancy=False, updated_at=now,
        )  # fmt: skip
        if await _insert_level(session, first):
            session.add(check)
            await session.flush()
            return check
        level = await _locked_level(session, location_id, product_id)
        assert level is not None
        if retry := await _recorded_before(session, actor, check_id, location_id, product_id, counted_qty):
            return retry

    is_latest = _is_latest(level, observed_at, check.id)
    previous: tuple[int, datetime] | None = None
    if is_latest:
        # The usual case: the level holds the count just before this one (if any).
        if level.counted_qty is not None and level.observed_at is not None:
            previous = (level.counted_qty, level.observed_at)
    else:
        # A late arrival from an offline phone: find the count before it in the history.
        row = (
            await session.execute(
                select(StockCheck.counted_qty, StockCheck.observed_at)
                .where(
                    StockCheck.location_id == location_id,
                    StockCheck.product_id == product_id,
                    StockCheck.observed_at <= observed_at,
                )
                .order_by(StockCheck.observed_at.desc(), StockCheck.id.desc())
                .limit(1)
            )
        ).first()
        previous = (row.counted_qty, row.observed_at) if row else None
    since_previous, after, taken = await _movement_sums(
        session,
        location_id,
        product_id,
        previous[1] if previous else None,
        observed_at,
        check_id if retry_asked_later else None,
    )
    if taken and (
        retry := await _recorded_before(session, actor, check_id, location_id, product_id, counted_qty)
    ):
        return retry
    if previous is not None:
        check.expected_qty = previous[0] + since_previous
        check.discrepancy = is_discrepancy(counted_qty, check.expected_qty, discrepancy_ratio)
    session.add(check)
    if is_latest:
        level.counted_qty = counted_qty
        level.observed_at = observed_at
        level.last_check_id = check.id
        level.discrepancy = check.discrepancy
        level.expected_qty = counted_qty + after
        level.updated_at = now
    await session.flush()
    return check


async def record_movement(
    session: AsyncSession,
    *,
    org_id: str,
    product_id: str,
    qty_delta: int,
    reason: str,
    ref_id: str,
    occurred_at: datetime,
) -> None:
    """Goods into (positive) or out of (negative) an organisation's stock location.

    Called by orders on acceptances (delivery into the warehouse) and delivered sales orders
    (sale out of the warehouse, delivery onto the terminal's shelf). The caller has checked
    rights; one call per line. Movements after the latest count move the expected quantity.
    """
    if reason not in MOVEMENT_REASONS:
        raise InvalidMovement(f"reason must be one of {', '.join(MOVEMENT_REASONS)}")
    if isinstance(qty_delta, bool) or not -MAX_QTY <= qty_delta <= MAX_QTY:
        raise InvalidMovement("qty_delta is out of range")
    if not ref_id or len(ref_id) > 64:
        raise InvalidMovement("ref_id must be 1 to 64 characters")
    if occurred_at.tzinfo is None:
        raise InvalidMovement("occurred_at needs a time zone")
    location = await location_for(session, org_id)
    await get_product(session, product_id)
    movement = StockMovement(
        location_id=location.id,
        product_id=product_id,
        distributor_id=location.distributor_id,
        qty_delta=qty_delta,
        reason=reason,
        ref_id=ref_id,
        occurred_at=occurred_at,
    )
    level = await _locked_level(session, location.id, product_id)
    if level is None:
        first = _new_level(
            location, product_id, expected_qty=qty_delta, discrepancy=False, updated_at=utcnow()
        )
        if await _insert_level(session, first):
            session.add(movement)
            await session.flush()
            return
        level = await _locked_level(session, location.id, product_id)
        assert level is not None
    session.add(movement)
    if level.observed_at is None or occurred_at > level.observed_at:
        level.expected_qty += qty_delta
        level.updated_at = utcnow()
    await session.flush()


async def get_stock_check(session: AsyncSession, check_id: str) -> StockCheck | None:
    return await session.get(StockCheck, check_id)


def levels_query(
    actor: Actor,
    *,
    org_id: str | None = None,
    product_id: str | None = None,
    discrepancy: bool | None = None,
    below: int | None = None,
) -> Select:
    """Current levels the actor may see, filtered (by location organisation, SKU, flag, quantity)."""
    stmt = stock_visibility(actor, select(StockLevel), StockLevel)
    if org_id is not None:
        stmt = stmt.where(
            StockLevel.location_id.in_(select(StockLocation.id).where(StockLocation.org_id == org_id))
        )
    if product_id is not None:
        stmt = stmt.where(StockLevel.product_id == product_id)
    if discrepancy is not None:
        stmt = stmt.where(StockLevel.discrepancy.is_(discrepancy))
    if below is not None:
        stmt = stmt.where(StockLevel.expected_qty < below)
    return stmt


def checks_query(
    actor: Actor,
    *,
    org_id: str | None = None,
    product_id: str | None = None,
    discrepancy: bool | None = None,
    since: datetime | None = None,
) -> Select:
    """Stock-check history the actor may see, filtered."""
    stmt = stock_visibility(actor, select(StockCheck), StockCheck)
    if org_id is not None:
        stmt = stmt.where(
            StockCheck.location_id.in_(select(StockLocation.id).where(StockLocation.org_id == org_id))
        )
    if product_id is not None:
        stmt = stmt.where(StockCheck.product_id == product_id)
    if discrepancy is not None:
        stmt = stmt.where(StockCheck.discrepancy.is_(discrepancy))
    if since is not None:
        stmt = stmt.where(StockCheck.observed_at >= since)
    return stmt


def movements_query(
    actor: Actor, *, org_id: str | None = None, product_id: str | None = None, reason: str | None = None
) -> Select:
    stmt = stock_visibility(actor, select(StockMovement), StockMovement)
    if org_id is not None:
        stmt = stmt.where(
            StockMovement.location_id.in_(select(StockLocation.id).where(StockLocation.org_id == org_id))
        )
    if product_id is not None:
        stmt = stmt.where(StockMovement.product_id == product_id)
    if reason is not None:
        stmt = stmt.where(StockMovement.reason == reason)
    return stmt
