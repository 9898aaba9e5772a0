"""Stock checks as a set: many counts in a handful of statements, with the rules of one count.

:func:`record_stock_checks` gives each count exactly the outcome :func:`service.record_stock_check`
would give it had the counts run one after the other in the order given (a later count of the
same SKU and place sees the earlier one), in two reads and one write whatever their number:
the levels (locked), then every location, organisation, route stop, product, stored check and
movement the counts need in one statement; the rules run in memory; new locations, new and
changed levels and checks are written in one statement on PostgreSQL (one ``executemany`` per
table on SQLite, :mod:`backend.rowwrites`), their change-feed rows with the batch's.

A count refused by a rule writes nothing, so it never takes another down. Two things the reads
cannot see are left to the caller: a count that arrives *late* (observed before the level's
latest count) asks the history for the count before it (two small statements, as the one-by-one
path does), and a first level or location that another transaction inserted after the reads
raises :class:`SetRace` — the caller then applies the counts one by one, which waits for and
uses the other transaction's row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    ARRAY,
    Boolean,
    Integer,
    String,
    and_,
    bindparam,
    func,
    literal,
    null,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.catalog import Product
from backend.catalog.errors import ProductNotFound
from backend.changefeed.recording import Change, row_changes, write_changes
from backend.db import UtcDateTime, is_postgres, new_id, utcnow
from backend.errors import DomainError
from backend.identity import Actor, Organisation
from backend.identity.errors import OrgNotFound
from backend.inventory.access import shelf_refusal
from backend.inventory.errors import InvalidLocation, InvalidObservedAt, StockCheckIdTaken
from backend.inventory.late_counts import LateHistory, Stored, movement_sums, read_late_history
from backend.inventory.models import StockCheck, StockLevel, StockLocation, StockMovement
from backend.inventory.service import MAX_FUTURE, _movement_sums, is_discrepancy
from backend.planmode import writes_planned_by_default
from backend.rowwrites import CombinedWrite, RowWrite
from backend.setreads import SetRace, among_named, list_value
from backend.territory import RouteAssignment

_LEVELS = StockLevel.__table__
_LOCATIONS = StockLocation.__table__
_CHECKS = StockCheck.__table__


@dataclass(frozen=True, slots=True)
class CheckIn:
    """One count to record (the arguments of ``stock_check.record``)."""

    check_id: str
    org_id: str
    product_id: str
    counted_qty: int
    observed_at: datetime


@dataclass(frozen=True, slots=True)
class CheckDone:
    """A recorded count (or the stored one a retry named)."""

    check_id: str
    discrepancy: bool


Outcome = CheckDone | DomainError


class _Place(NamedTuple):
    distributor_id: str
    terminal_id: str | None


class _Org(NamedTuple):
    id: str
    kind: str
    parent_id: str | None


class _Known(NamedTuple):
    location_id: str
    product_id: str
    counted_qty: int
    user_id: str
    discrepancy: bool


@dataclass
class _Facts:
    """Everything the counts' rules read, then the state they leave, in memory."""

    levels: dict[tuple[str, str], dict[str, Any]]  # by (org_id, product_id)
    locations: dict[str, dict[str, Any]]  # by org_id
    orgs: dict[str, Any]
    on_route: set[str]
    products: set[str]
    checks: dict[str, _Known]
    movements: dict[tuple[str, str], list[tuple[datetime, int]]]  # by (location_id, product_id)
    new_locations: list[dict[str, Any]] = field(default_factory=list)
    new_levels: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed_levels: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_checks: list[dict[str, Any]] = field(default_factory=list)
    by_pair: dict[tuple[str, str], list[tuple[datetime, str, int]]] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    late: LateHistory | None = None  # the late counts' history, read for all at once


async def record_stock_checks(
    session: AsyncSession,
    actor: Actor,
    items: list[CheckIn],
    *,
    device_id: str | None,
    discrepancy_ratio: float,
) -> list[Outcome]:
    """Record ``items`` as if one after the other; one outcome each, in the same order."""
    now = utcnow()
    facts = await _read(session, actor, items)
    if is_postgres(session):
        facts.late = await read_late_history(session, _late_from_the_start(facts, items, now))
    outcomes: list[Outcome] = []
    for item in items:
        try:
            outcomes.append(
                await _count(
                    session, actor, facts, item, now, device_id or actor.device_id, discrepancy_ratio
                )
            )
        except DomainError as refusal:
            outcomes.append(refusal)
    await _write(session, facts)
    return outcomes


# --- reads --------------------------------------------------------------------------------------


def _late_from_the_start(
    facts: _Facts, items: list[CheckIn], now: datetime
) -> list[tuple[tuple[str, str], datetime]]:
    """The counts that are late against the levels as read: late whatever the set's earlier counts
    do (a level only moves forward), as ``((location_id, product_id), observed_at)``. A count made
    late by an earlier one of the set reads its history alone."""
    late = []
    for item in items:
        level = facts.levels.get((item.org_id, item.product_id))
        if level is None or item.check_id in facts.checks:
            continue  # a baseline, or a retry answered with the stored check
        try:
            observed_at = _observed_at(item, now)
        except InvalidObservedAt:
            continue  # refused
        if not _is_latest(level, observed_at, item.check_id):
            late.append(((level["location_id"], item.product_id), observed_at))
    return late


def _observed_at(item: CheckIn, now: datetime) -> datetime:
    """When the count was made, as recorded: never after the server's clock."""
    if item.observed_at.tzinfo is None:
        raise InvalidObservedAt("observed_at needs a time zone")
    if item.observed_at > now + MAX_FUTURE:
        raise InvalidObservedAt("observed_at is in the future; check the phone's clock")
    return min(item.observed_at, now)


def _is_latest(level: dict[str, Any], observed_at: datetime, check_id: str) -> bool:
    """Whether a count is the level's latest (ties broken by id): then the level follows it."""
    return level["observed_at"] is None or (observed_at, check_id) > (
        level["observed_at"],
        level["last_check_id"] or "",
    )


@cache
def _statements(pg: bool) -> dict[str, Any]:
    """The set's reads, built once per dialect (parameters bound per call)."""
    if pg:
        level_query = _pg_level_query()
    else:
        pair = func.json_each(bindparam("pairs")).table_valued("value")
        level_query = (
            select(_LOCATIONS.c.org_id.label("at_org"), *_LEVELS.c)
            .join(_LOCATIONS, _LOCATIONS.c.id == _LEVELS.c.location_id)
            .where(
                tuple_(_LOCATIONS.c.org_id, _LEVELS.c.product_id).in_(
                    select(func.json_extract(pair.c.value, "$[0]"), func.json_extract(pair.c.value, "$[1]"))
                )
            )
        )
    return {"levels": level_query, "facts": _facts_query(pg)}


def _pg_level_query() -> Any:
    """The levels of the wanted (organisation, product) pairs, each locked as it is found, in the
    pairs' order (sorted: concurrent sets lock in one order).

    Each pair is its own ``LATERAL`` probe, run in turn for the pairs in order, so its plan is a
    probe of the (location, product) key whatever the statistics say. Joined flat, a generic plan
    made while the table was small (a new database, before autovacuum analysed it) probed by
    location alone and filtered every product on the shelf: 9.7 ms per 100 counts at 230
    products a shelf (``docs/performance.md``, issue 15)."""
    wanted = (
        func.unnest(bindparam("orgs", type_=ARRAY(String)), bindparam("products", type_=ARRAY(String)))
        .table_valued("org_id", "product_id", with_ordinality="n")
        .render_derived(name="wanted")
    )
    in_order = select(wanted).order_by(wanted.c.n).offset(0).subquery("in_order")
    level = (
        select(_LOCATIONS.c.org_id.label("at_org"), *_LEVELS.c)
        .join(_LOCATIONS, _LOCATIONS.c.id == _LEVELS.c.location_id)
        .where(_LOCATIONS.c.org_id == in_order.c.org_id, _LEVELS.c.product_id == in_order.c.product_id)
        .with_for_update(of=_LEVELS)
        .lateral("level")
    )
    return select(*level.c).select_from(in_order).join(level, true())


def _facts_query(pg: bool) -> Any:
    """Everything after the levels in one statement (one round trip, one hand-off): the places
    (each organisation, its location, and whether it is on the caller's route), the products,
    the stored checks and the movements, as rows tagged by ``kind`` in the columns of one
    ``UNION ALL`` (the first arm's types convert every arm's values)."""
    text_ = String()

    def nulls(n: int) -> list[Any]:
        return [null().cast(text_) for _ in range(n)]

    on_route = (
        select(RouteAssignment.id)
        .where(
            RouteAssignment.user_id == bindparam("user_id"), RouteAssignment.terminal_id == Organisation.id
        )
        .exists()
    )
    loc = _LOCATIONS.c
    places = (
        select(
            literal("o").label("kind"),
            Organisation.id.label("a"),
            Organisation.kind.label("b"),
            Organisation.parent_id.label("c"),
            loc.id.label("d"),
            loc.kind.label("e"),
            loc.distributor_id.label("f"),
            loc.terminal_id.label("g"),
            loc.version.label("n"),
            on_route.label("flag"),
            loc.created_at.label("at"),
        )
        .outerjoin(_LOCATIONS, loc.org_id == Organisation.id)
        .where(among_named(Organisation.id, "org_ids", pg))
    )
    no_int = null().cast(Integer())
    no_flag = null().cast(Boolean())
    no_time = null().cast(UtcDateTime())
    products = select(literal("p"), Product.id, *nulls(6), no_int, no_flag, no_time).where(
        among_named(Product.id, "product_ids", pg)
    )
    c = _CHECKS.c
    checks = select(
        literal("c"),
        c.id,
        c.location_id,
        c.product_id,
        c.user_id,
        *nulls(3),
        c.counted_qty,
        c.discrepancy,
        no_time,
    ).where(among_named(c.id, "check_ids", pg))
    m = StockMovement
    movements = (
        select(literal("m"), m.location_id, m.product_id, *nulls(5), m.qty_delta, no_flag, m.occurred_at)
        .join(
            StockLevel, and_(StockLevel.location_id == m.location_id, StockLevel.product_id == m.product_id)
        )
        .where(
            among_named(StockLevel.id, "level_ids", pg),
            or_(StockLevel.observed_at.is_(None), m.occurred_at > StockLevel.observed_at),
        )
    )
    return union_all(places, products, checks, movements)


async def _read(session: AsyncSession, actor: Actor, items: list[CheckIn]) -> _Facts:
    pg = is_postgres(session)
    q = _statements(pg)
    pairs = sorted({(i.org_id, i.product_id) for i in items})
    org_ids = {i.org_id for i in items}
    params: dict[str, Any] = (
        {"orgs": [o for o, _p in pairs], "products": [p for _o, p in pairs]}
        if pg
        else {"pairs": list_value(pairs, pg)}
    )
    levels: dict[tuple[str, str], dict[str, Any]] = {}
    result = await session.execute(q["levels"], params)
    names = tuple(result.keys())
    for row in result:
        values = dict(zip(names, row, strict=True))
        levels[(values.pop("at_org"), values["product_id"])] = values
    wanted = org_ids | {lv["terminal_id"] for lv in levels.values() if lv["terminal_id"]}
    unknown_products = sorted({p for o, p in pairs if (o, p) not in levels})
    facts_params = {
        "user_id": actor.user_id,
        "org_ids": list_value(sorted(wanted), pg),
        "product_ids": list_value(unknown_products, pg),
        "check_ids": list_value(sorted({i.check_id for i in items}), pg),
        "level_ids": list_value(sorted(lv["id"] for lv in levels.values()), pg),
    }
    orgs: dict[str, Any] = {}
    locations: dict[str, dict[str, Any]] = {}
    route_flags: set[str] = set()
    products: set[str] = set()
    checks: dict[str, _Known] = {}
    movements: dict[tuple[str, str], list[tuple[datetime, int]]] = {}
    for kind, a, b, c, d, e, f, g, n, flag, at in await session.execute(q["facts"], facts_params):
        if kind == "o":
            orgs[a] = _Org(a, b, c)
            if flag:
                route_flags.add(a)
            if d is not None:
                locations[a] = {
                    "id": d,
                    "org_id": a,
                    "kind": e,
                    "distributor_id": f,
                    "terminal_id": g,
                    "created_at": at,
                    "version": n,
                }
        elif kind == "p":
            products.add(a)
        elif kind == "c":
            checks[a] = _Known(b, c, n, d, flag)
        else:
            movements.setdefault((a, b), []).append((at, n))
    # Shelves: a level's or location's terminal, or the organisation itself once it gets a location
    # (each of them one of the organisations read, so its route flag came with it).
    terminal_ids = {lv["terminal_id"] for lv in levels.values() if lv["terminal_id"]}
    terminal_ids |= {loc["terminal_id"] for loc in locations.values() if loc["terminal_id"]}
    terminal_ids |= {o for o in org_ids if o in orgs and o not in locations}
    on_route = route_flags & terminal_ids
    return _Facts(levels, locations, orgs, on_route, products, checks, movements)


# --- the rules, in memory -------------------------------------------------------------------------


def _refusal(actor: Actor, facts: _Facts, place: _Place) -> DomainError | None:
    terminal = facts.orgs.get(place.terminal_id) if place.terminal_id else None
    return shelf_refusal(actor, place, terminal, place.terminal_id in facts.on_route)


def _new_location(facts: _Facts, org_id: str, now: datetime) -> dict[str, Any]:
    """The location ``service.location_for`` would create (not kept until the count is)."""
    org = facts.orgs.get(org_id)
    if org is None:
        raise OrgNotFound(f"organisation {org_id} does not exist")
    if org.kind == "distributor":
        place = {"kind": "warehouse", "distributor_id": org.id, "terminal_id": None}
    elif org.kind == "terminal" and org.parent_id is not None:
        place = {"kind": "shelf", "distributor_id": org.parent_id, "terminal_id": org.id}
    else:
        raise InvalidLocation(f"a {org.kind} holds no stock; count a distributor's or a terminal's")
    return {"id": new_id(), "org_id": org_id, **place, "created_at": now, "version": 1}


async def _count(
    session: AsyncSession,
    actor: Actor,
    facts: _Facts,
    item: CheckIn,
    now: datetime,
    device_id: str | None,
    ratio: float,
) -> Outcome:
    """One count against the facts, in the order of ``service.record_stock_check``'s checks."""
    observed_at = _observed_at(item, now)
    level = facts.levels.get((item.org_id, item.product_id))
    location = None
    created = None
    if level is not None:
        place = _Place(level["distributor_id"], level["terminal_id"])
        if (refusal := _refusal(actor, facts, place)) is not None:
            raise refusal
    else:
        location = facts.locations.get(item.org_id)
        if location is None:
            location = created = _new_location(facts, item.org_id, now)
        place = _Place(location["distributor_id"], location["terminal_id"])
        if (refusal := _refusal(actor, facts, place)) is not None:
            raise refusal
        if item.product_id not in facts.products:
            raise ProductNotFound(f"product {item.product_id} does not exist")
    location_id = level["location_id"] if level is not None else location["id"]  # type: ignore[index]
    key = (location_id, item.product_id)
    known = facts.checks.get(item.check_id)
    if known is not None:
        if known[:4] != (location_id, item.product_id, item.counted_qty, actor.user_id):
            raise StockCheckIdTaken(f"stock check {item.check_id} exists with other facts")
        _keep_location(facts, created)
        return CheckDone(item.check_id, known.discrepancy)
    _keep_location(facts, created)
    check = {
        "id": item.check_id,
        "location_id": location_id,
        "product_id": item.product_id,
        "distributor_id": place.distributor_id,
        "counted_qty": item.counted_qty,
        "expected_qty": None,
        "discrepancy": False,
        "observed_at": observed_at,
        "recorded_at": now,
        "user_id": actor.user_id,
        "device_id": device_id,
    }
    if level is None:
        assert location is not None
        # No level means no earlier count or movement here: this count is the baseline.
        level = {
            "id": new_id(),
            "location_id": location_id,
            "product_id": item.product_id,
            "distributor_id": location["distributor_id"],
            "terminal_id": location["terminal_id"],
            "counted_qty": item.counted_qty,
            # As the database gives it back (the one-by-one path reads the row it inserted).
            "observed_at": observed_at.astimezone(UTC),
            "last_check_id": item.check_id,
            "expected_qty": item.counted_qty,
            "discrepancy": False,
            "updated_at": now,
            "version": 1,
        }
        facts.levels[(item.org_id, item.product_id)] = level
        facts.new_levels[level["id"]] = level
        facts.changes.extend(row_changes(StockLevel, level))
    else:
        if await _against_level(session, facts, level, check, ratio):
            level["updated_at"] = now
            if level["id"] not in facts.new_levels:
                facts.changed_levels[level["id"]] = level
            facts.changes.extend(row_changes(StockLevel, level))
    facts.new_checks.append(check)
    facts.by_pair.setdefault(key, []).append((observed_at, item.check_id, item.counted_qty))
    facts.checks[item.check_id] = _Known(
        location_id, item.product_id, item.counted_qty, actor.user_id, check["discrepancy"]
    )
    return CheckDone(item.check_id, check["discrepancy"])


def _keep_location(facts: _Facts, created: dict[str, Any] | None) -> None:
    if created is not None:
        facts.locations[created["org_id"]] = created
        facts.new_locations.append(created)
        facts.changes.extend(row_changes(StockLocation, created))


async def _against_level(
    session: AsyncSession, facts: _Facts, level: dict[str, Any], check: dict[str, Any], ratio: float
) -> bool:
    """Expected quantity and flag of ``check`` against the level; the level follows it if it is
    the latest count (ties broken by id), and then ``True``."""
    observed_at: datetime = check["observed_at"]
    key = (check["location_id"], check["product_id"])
    latest = _is_latest(level, observed_at, check["id"])
    if latest:
        previous = None
        if level["counted_qty"] is not None and level["observed_at"] is not None:
            previous = (level["counted_qty"], level["observed_at"])
        moves = facts.movements.get(key, ())
        since, after = movement_sums(moves, previous[1] if previous else None, observed_at)
    else:
        previous, since, after = await _late_count(session, facts, key, observed_at)
    if previous is not None:
        check["expected_qty"] = previous[0] + since
        check["discrepancy"] = is_discrepancy(check["counted_qty"], check["expected_qty"], ratio)
    if latest:
        level.update(
            counted_qty=check["counted_qty"],
            observed_at=observed_at,
            last_check_id=check["id"],
            discrepancy=check["discrepancy"],
            expected_qty=check["counted_qty"] + after,
            version=level["version"] + 1,
        )
    return latest


async def _late_count(
    session: AsyncSession, facts: _Facts, key: tuple[str, str], observed_at: datetime
) -> tuple[tuple[int, datetime] | None, int, int]:
    """A late count's predecessor and the movements since it and after the count: from the history
    read for the set when it covers the count, else asked now."""
    if facts.late is not None and facts.late.covers(key, observed_at):
        previous = _latest_before(facts, key, observed_at, facts.late.before[(key, observed_at)])
        since, after = facts.late.sums(key, previous[1] if previous else None, observed_at)
        return previous, since, after
    previous = await _count_before(session, facts, key, observed_at)
    since, after, _taken = await _movement_sums(
        session, key[0], key[1], previous[1] if previous else None, observed_at
    )
    return previous, since, after


async def _count_before(
    session: AsyncSession, facts: _Facts, key: tuple[str, str], observed_at: datetime
) -> tuple[int, datetime] | None:
    """The count just before a late arrival: the stored history and this set's earlier counts."""
    row = (
        await session.execute(
            select(StockCheck.counted_qty, StockCheck.observed_at, StockCheck.id)
            .where(
                StockCheck.location_id == key[0],
                StockCheck.product_id == key[1],
                StockCheck.observed_at <= observed_at,
            )
            .order_by(StockCheck.observed_at.desc(), StockCheck.id.desc())
            .limit(1)
        )
    ).first()
    stored = Stored(row.observed_at, row.id, row.counted_qty) if row is not None else None
    return _latest_before(facts, key, observed_at, stored)


def _latest_before(
    facts: _Facts, key: tuple[str, str], observed_at: datetime, stored: Stored | None
) -> tuple[int, datetime] | None:
    """The latest of the stored count before ``observed_at`` and this set's earlier counts."""
    candidates = [
        (at, check_id, qty) for at, check_id, qty in facts.by_pair.get(key, ()) if at <= observed_at
    ]
    if stored is not None:
        candidates.append((stored.observed_at, stored.check_id, stored.counted_qty))
    if not candidates:
        return None
    at, _id, qty = max(candidates, key=lambda c: (c[0], c[1]))
    return qty, at


# --- writes ---------------------------------------------------------------------------------------


_LEVEL_COLUMNS = tuple(c.name for c in _LEVELS.c)
# New and changed levels in one upsert by id: a new level that meets a row another transaction
# inserted meanwhile (its location and product unique) still fails, and the set gives up.
_SET_WRITE = CombinedWrite(
    (
        RowWrite(_LOCATIONS, tuple(c.name for c in _LOCATIONS.c)),
        RowWrite(
            _LEVELS,
            _LEVEL_COLUMNS,
            conflict=("id",),
            update=tuple(c for c in _LEVEL_COLUMNS if c not in ("id", "location_id", "product_id")),
        ),
        RowWrite(_CHECKS, tuple(c.name for c in _CHECKS.c)),
    )
)


async def _write(session: AsyncSession, facts: _Facts) -> None:
    """Locations, levels and checks: one statement on PostgreSQL, one ``executemany`` per table
    on SQLite (:mod:`backend.rowwrites`)."""
    levels = [*facts.new_levels.values(), *sorted(facts.changed_levels.values(), key=lambda r: r["id"])]
    try:
        async with writes_planned_by_default(session):
            await _SET_WRITE.execute(session, (facts.new_locations, levels, facts.new_checks))
    except IntegrityError as exc:
        raise SetRace("another transaction wrote a first location or level meanwhile") from exc
    if facts.changes:
        write_changes(session.sync_session, facts.changes)
    # ORM copies of the levels written here (read earlier in the batch) must not be used stale.
    written_ids = facts.changed_levels.keys()
    for obj in list(session.sync_session.identity_map.values()):
        if isinstance(obj, StockLevel) and obj.id in written_ids:
            session.sync_session.expire(obj)
