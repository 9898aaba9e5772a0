"""Order creates, line edits and submissions as a set: a batch's order work in a few statements.

:func:`apply_order_work` gives each item exactly the outcome the one-by-one service
(:func:`~backend.orders.service.create_order`, :func:`~backend.orders.service.set_line`,
:func:`~backend.orders.service.submit_order`) would give it had the items run one after the other
in the order given — an edit or a submission of an order created earlier in the same set sees
it, a quota used up by an earlier submission is used up for the next. Everything the rules read
is read once: the orders named (locked, in id order), their lines, the organisations, the route,
the products, the regions above the orders' regions, the channel authorisations, the prices and
the quotas (locked, in id order, after the orders). The rules are the service's own pure
functions (:func:`~backend.orders.service.check_parties`, :func:`~backend.orders.states.check_step`,
:func:`~backend.orders.channel.quota_takes`…), run in memory; then one multi-row statement per
table writes new orders, changed orders, new, changed and removed lines, quotas, quota uses and
the change feed (one change per step, as the one-by-one path records them).

A refused item writes nothing. Nothing is left to the one-by-one path but a lost race: an order
id another transaction inserted after the reads raises :class:`SetRace`, and the caller applies
the batch one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Date, bindparam, delete, func, insert, or_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend.catalog import ChannelAuthorisation, PriceEntry, Product, RegionalQuota
from backend.changefeed.recording import DELETE, Change, row_changes, write_changes
from backend.db import is_postgres, new_id, utcnow
from backend.errors import DomainError
from backend.identity import Actor, Organisation, Region
from backend.orders import access
from backend.orders.access import is_ref
from backend.orders.channel import authorisation_refusal, prices_of, quota_takes
from backend.orders.errors import EmptyOrder, OrderNotFound, ProductNotOrderable
from backend.orders.models import Order, OrderLine, QuotaUse
from backend.orders.numbers import PREFIXES, SEQUENCES, format_number
from backend.orders.service import (
    _checked_qty,
    check_parties,
    line_quantities,
    orderable_refusal,
    party_ids,
    retry_of,
)
from backend.orders.states import check_step
from backend.planmode import writes_planned_by_default
from backend.setreads import Row, SetRace, among_named, as_rows, execute_among, set_value
from backend.territory import RouteAssignment
from backend.territory.service import needs_route

_ORDERS = Order.__table__
_LINES = OrderLine.__table__
_QUOTAS = RegionalQuota.__table__


@dataclass(frozen=True, slots=True)
class CreateIn:
    order_id: str
    kind: str
    supplier_id: str | None
    terminal_id: str | None
    lines: list[tuple[str, int]]


@dataclass(frozen=True, slots=True)
class LineIn:
    order_id: str
    product_id: str
    qty: int


@dataclass(frozen=True, slots=True)
class SubmitIn:
    order_id: str


Item = CreateIn | LineIn | SubmitIn


class OrderState(NamedTuple):
    order_id: str
    state: str
    version: int


Outcome = OrderState | DomainError


@dataclass
class _Facts:
    orders: dict[str, Row]
    lines: dict[str, dict[str, Row]]  # order id → product id → line
    orgs: dict[str, Row]
    on_route: set[str]
    products: dict[str, Row]
    parents: dict[str, str | None]  # region → its parent
    auths: list[Row]
    prices: dict[tuple[str, str], Row]  # (distributor, product)
    quotas: list[Row]  # locked, in id order
    new_orders: dict[str, Row] = field(default_factory=dict)
    changed_orders: dict[str, Row] = field(default_factory=dict)
    new_lines: dict[str, Row] = field(default_factory=dict)
    changed_lines: dict[str, Row] = field(default_factory=dict)
    removed_lines: set[str] = field(default_factory=set)
    changed_quotas: dict[str, Row] = field(default_factory=dict)
    quota_uses: list[dict[str, Any]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    numbers: dict[str, list[int]] = field(default_factory=dict)  # prefix → numbers to give, in order


async def apply_order_work(session: AsyncSession, actor: Actor, items: list[Item]) -> list[Outcome]:
    """Apply ``items`` as if one after the other; one outcome each, in the same order."""
    now = utcnow()
    facts = await _read(session, actor, items, now.date())
    outcomes: list[Outcome] = []
    for item in items:
        try:
            if isinstance(item, CreateIn):
                outcomes.append(_create(actor, facts, item, now))
            elif isinstance(item, LineIn):
                outcomes.append(_set_line(actor, facts, item, now))
            else:
                outcomes.append(_submit(actor, facts, item, now))
        except DomainError as refusal:
            outcomes.append(refusal)
    await _write(session, facts)
    return outcomes


# --- reads --------------------------------------------------------------------------------------


@cache
def _reads(pg: bool) -> dict[str, Any]:
    """The set's reads, built once (building a statement and its cache key cost more than running
    it); every list is a named parameter (:func:`~backend.setreads.set_value`)."""
    auth = ChannelAuthorisation
    today = bindparam("today", type_=Date)
    parent = aliased(Region)
    up = (
        select(Region.id, Region.parent_id)
        .where(among_named(Region.id, "regions", pg))
        .cte("up", recursive=True)
    )
    # ``UNION`` ends a cycle: a row met again adds nothing.
    up = up.union(select(parent.id, parent.parent_id).join(up, parent.id == up.c.parent_id))
    return {
        "orders": select(_ORDERS)
        .where(among_named(_ORDERS.c.id, "ids", pg))
        .order_by(_ORDERS.c.id)
        .with_for_update(),
        "lines": select(_LINES).where(among_named(_LINES.c.order_id, "ids", pg)),
        "orgs": select(
            Organisation.id,
            Organisation.kind,
            Organisation.parent_id,
            Organisation.active,
            Organisation.region_id,
        ).where(among_named(Organisation.id, "ids", pg)),
        "route": select(RouteAssignment.terminal_id).where(
            RouteAssignment.user_id == bindparam("user_id"),
            among_named(RouteAssignment.terminal_id, "ids", pg),
        ),
        "products": select(
            Product.id, Product.active, Product.supplier_id, Product.category_id, Product.sku
        ).where(among_named(Product.id, "ids", pg)),
        "largest_number": select(func.max(_ORDERS.c.number)).where(
            _ORDERS.c.number.like(bindparam("prefix"))
        ),
        # ``regions`` and every region above them, each with its parent, in one recursive read.
        "regions": select(up.c.id, up.c.parent_id),
        "auths": select(auth.supplier_id, auth.category_id, auth.distributor_id, auth.region_id).where(
            among_named(auth.distributor_id, "distributors", pg),
            auth.active.is_(True),
            among_named(auth.region_id, "ancestry", pg),
            or_(auth.valid_from.is_(None), auth.valid_from <= today),
            or_(auth.valid_to.is_(None), auth.valid_to >= today),
        ),
        "prices": select(
            PriceEntry.distributor_id, PriceEntry.product_id, PriceEntry.price_minor, PriceEntry.currency
        ).where(
            among_named(PriceEntry.distributor_id, "distributors", pg),
            among_named(PriceEntry.product_id, "products", pg),
        ),
        "quotas": select(_QUOTAS)
        .where(
            among_named(_QUOTAS.c.distributor_id, "distributors", pg),
            among_named(_QUOTAS.c.supplier_id, "suppliers", pg),
            among_named(_QUOTAS.c.region_id, "ancestry", pg),
            _QUOTAS.c.period_start <= today,
            _QUOTAS.c.period_end >= today,
            or_(
                among_named(_QUOTAS.c.product_id, "products", pg),
                among_named(_QUOTAS.c.category_id, "categories", pg),
            ),
        )
        .order_by(_QUOTAS.c.id)
        .with_for_update(),
    }


async def _read(session: AsyncSession, actor: Actor, items: list[Item], today: date) -> _Facts:
    pg = is_postgres(session)
    q = _reads(pg)
    order_ids = {i.order_id for i in items if is_ref(i.order_id)}
    orders = {r.id: r for r in as_rows(await execute_among(session, q["orders"], order_ids))}
    lines: dict[str, dict[str, Row]] = {o: {} for o in orders}
    if orders:
        for line in as_rows(await execute_among(session, q["lines"], orders)):
            lines[line.order_id][line.product_id] = line
    creates = [i for i in items if isinstance(i, CreateIn)]
    submitted = [orders[i.order_id] for i in items if isinstance(i, SubmitIn) and i.order_id in orders]
    org_ids = {o for c in creates for o in party_ids(actor, c.kind, c.supplier_id, c.terminal_id, None)}
    # The organisation whose region an order's channel rules follow (read for every order named).
    org_ids |= {o.terminal_id if o.kind == "sales" else o.distributor_id for o in orders.values()}
    org_ids |= {actor.org_id} if is_ref(actor.org_id) else set()
    orgs = {r.id: r for r in as_rows(await execute_among(session, q["orgs"], org_ids))}
    terminals = {c.terminal_id for c in creates if c.kind == "sales" and c.terminal_id in orgs}
    on_route: set[str] = set()
    if any(needs_route(actor, orgs[t]) for t in terminals):
        on_route = set((await execute_among(session, q["route"], terminals, user_id=actor.user_id)).scalars())
    product_ids = {p for c in creates for p, _q in c.lines if is_ref(p)}
    product_ids |= {i.product_id for i in items if isinstance(i, LineIn) and is_ref(i.product_id)}
    product_ids |= {p for o in submitted for p in lines[o.id]}
    products: dict[str, Row] = {}
    if product_ids:
        products = {r.id: r for r in as_rows(await execute_among(session, q["products"], product_ids))}
    facts = _Facts(orders, lines, orgs, on_route, products, {}, [], {}, [])
    facts.numbers = await _numbers(session, creates, pg)
    if any(isinstance(i, SubmitIn) for i in items):
        await _read_channel(session, actor, facts, items, today, pg)
    return facts


async def _read_channel(
    session: AsyncSession, actor: Actor, facts: _Facts, items: list[Item], today: date, pg: bool
) -> None:
    """What a submission's channel rules read, for every order the set may submit (the orders
    named, and those it creates): regions above theirs, authorisations, prices, quotas."""
    q = _reads(pg)
    submitted = {i.order_id for i in items if isinstance(i, SubmitIn)}
    parties: list[tuple[str, str | None, str]] = []  # (distributor, supplier, region org)
    for order in facts.orders.values():
        if order.id in submitted:
            region_org = order.terminal_id if order.kind == "sales" else order.distributor_id
            parties.append((order.distributor_id, order.supplier_id, region_org))
    for c in items:
        if isinstance(c, CreateIn) and c.order_id in submitted:
            if c.kind == "sales" and c.terminal_id in facts.orgs:
                distributor = facts.orgs[c.terminal_id].parent_id
                parties.append((distributor, None, c.terminal_id))  # type: ignore[arg-type]
            elif c.kind == "purchase":
                parties.append((actor.org_id, c.supplier_id, actor.org_id))
    distributors = {d for d, _s, _o in parties if d}
    regions = {facts.orgs[o].region_id for _d, _s, o in parties if o in facts.orgs} - {None}
    if regions:
        found = await session.execute(q["regions"], {"regions": set_value(regions, pg)})
        facts.parents.update({r.id: r.parent_id for r in found})
    ancestry = set(facts.parents)
    product_ids = set(facts.products)
    if not distributors or not product_ids:
        return
    params = {
        "today": today,
        "distributors": set_value(distributors, pg),
        "ancestry": set_value(ancestry, pg),
        "products": set_value(product_ids, pg),
    }
    facts.auths = as_rows(await session.execute(q["auths"], params))
    found = as_rows(await session.execute(q["prices"], params))
    facts.prices = {(r.distributor_id, r.product_id): r for r in found}
    suppliers = {s for _d, s, _o in parties if s is not None}
    if suppliers:
        params["suppliers"] = set_value(suppliers, pg)
        params["categories"] = set_value({p.category_id for p in facts.products.values()}, pg)
        facts.quotas = as_rows(await session.execute(q["quotas"], params))


async def _numbers(session: AsyncSession, creates: list[CreateIn], pg: bool) -> dict[str, list[int]]:
    """Numbers for the orders the set may create, per prefix, in the order they are given out:
    on PostgreSQL one ``nextval`` per create (a refused one leaves a gap, as a rolled-back order
    does); on SQLite the largest number so far plus one, plus two… (as :func:`next_number`)."""
    wanted: dict[str, int] = {}
    for c in creates:
        wanted[PREFIXES[c.kind]] = wanted.get(PREFIXES[c.kind], 0) + 1
    out: dict[str, list[int]] = {}
    for prefix, count in wanted.items():
        if pg:
            query = text(f"SELECT nextval('{SEQUENCES[prefix]}') FROM generate_series(1, :n)")  # noqa: S608
            out[prefix] = sorted(int(v) for v in (await session.execute(query, {"n": count})).scalars())
        else:
            largest = await session.scalar(_reads(pg)["largest_number"], {"prefix": f"{prefix}-%"})
            start = int(str(largest).rsplit("-", 1)[1]) if largest else 0
            out[prefix] = list(range(start + count, start, -1))  # popped from the end: smallest first
    for numbers in out.values():
        numbers.sort(reverse=True)
    return out


def _next_number(facts: _Facts, kind: str, now: datetime) -> str:
    prefix = PREFIXES[kind]
    return format_number(prefix, now.year, facts.numbers[prefix].pop())


def _ancestry(facts: _Facts, region_id: str | None) -> list[str]:
    """As :func:`backend.catalog.service.region_ancestry` walks it, from the regions read."""
    chain: list[str] = []
    while region_id is not None and region_id not in chain:
        chain.append(region_id)
        region_id = facts.parents.get(region_id)
    return chain


# --- the rules, in memory -------------------------------------------------------------------------


def _state(order: Row) -> OrderState:
    return OrderState(order.id, order.state, order.version)


def _changed(facts: _Facts, cls: type, row: Row) -> None:
    facts.changes.extend(row_changes(cls, row))


def _create(actor: Actor, facts: _Facts, item: CreateIn, now: datetime) -> Outcome:
    """:func:`backend.orders.service.create_order`, in its order of checks."""
    distributor_id, supplier_id, terminal_id = check_parties(
        actor,
        item.kind,
        item.supplier_id,
        item.terminal_id,
        None,
        facts.orgs,
        item.terminal_id in facts.on_route,
    )
    existing = facts.orders.get(item.order_id)
    if existing is not None and retry_of(actor, existing, item.kind, item.order_id):
        return _state(existing)
    quantities = line_quantities(item.lines)
    if (refusal := orderable_refusal(item.kind, supplier_id, set(quantities), facts.products)) is not None:
        raise refusal
    order = Row({c.key: None for c in _ORDERS.c})
    order.update(
        id=item.order_id,
        kind=item.kind,
        distributor_id=distributor_id,
        supplier_id=supplier_id,
        terminal_id=terminal_id,
        state="draft",
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
        number=_next_number(facts, item.kind, now),
        version=1,
    )
    facts.orders[order.id] = facts.new_orders[order.id] = order
    facts.lines[order.id] = {}
    _changed(facts, Order, order)
    for product_id, qty in quantities.items():
        _add_line(facts, order, product_id, qty, now)
    return _state(order)


def _add_line(facts: _Facts, order: Row, product_id: str, qty: int, now: datetime) -> None:
    line = Row(
        id=new_id(),
        order_id=order.id,
        product_id=product_id,
        qty=qty,
        unit_price_minor=None,
        line_total_minor=None,
        updated_at=now,
        kind=order.kind,
        distributor_id=order.distributor_id,
        supplier_id=order.supplier_id,
        terminal_id=order.terminal_id,
        version=1,
    )
    facts.lines[order.id][product_id] = facts.new_lines[line.id] = line
    _changed(facts, OrderLine, line)


def _visible_order(actor: Actor, facts: _Facts, order_id: str) -> Row:
    """As :func:`backend.orders.access.one` finds it (an order the actor may not see is missing)."""
    order = facts.orders.get(order_id) if is_ref(order_id) else None
    if order is None or not access.can_see(actor, order):
        raise OrderNotFound(f"order {order_id} does not exist")
    return order


def _touch(facts: _Facts, table: Any, row: Row, now: datetime) -> None:
    """A row updated: its version moves on (one UPDATE of the one-by-one flush)."""
    row["version"] += 1
    row["updated_at"] = now
    new, changed = (
        (facts.new_orders, facts.changed_orders)
        if table is _ORDERS
        else (facts.new_lines, facts.changed_lines)
    )
    if row.id not in new:
        changed[row.id] = row


def _set_line(actor: Actor, facts: _Facts, item: LineIn, now: datetime) -> Outcome:
    """:func:`backend.orders.service.set_line`, in its order of checks."""
    order = _visible_order(actor, facts, item.order_id)
    check_step(actor, order, "edit")  # type: ignore[arg-type]
    qty = _checked_qty(item.qty, allow_zero=True)
    if not is_ref(item.product_id):
        raise ProductNotOrderable(
            "a product id is not valid", details={"product_ids": [str(item.product_id)]}
        )
    line = facts.lines[order.id].get(item.product_id)
    if line is None and qty > 0:
        refusal = orderable_refusal(order.kind, order.supplier_id, {item.product_id}, facts.products)
        if refusal is not None:
            raise refusal
        _add_line(facts, order, item.product_id, qty, now)
    elif line is not None and qty == 0:
        del facts.lines[order.id][item.product_id]
        if facts.new_lines.pop(line.id, None) is None:
            facts.changed_lines.pop(line.id, None)
            facts.removed_lines.add(line.id)
        facts.changes.extend(
            Change(c.scope, c.entity, c.entity_id, DELETE, c.version, None)
            for c in row_changes(OrderLine, line)
        )
    elif line is not None and line.qty != qty:
        line["qty"] = qty
        _touch(facts, _LINES, line, now)
        _changed(facts, OrderLine, line)
    _touch(facts, _ORDERS, order, now)
    _changed(facts, Order, order)
    return _state(order)


def _submit(actor: Actor, facts: _Facts, item: SubmitIn, now: datetime) -> Outcome:
    """:func:`backend.orders.service.submit_order` and :mod:`backend.orders.channel`, in their
    order of checks; the effects only once every check passed."""
    order = _visible_order(actor, facts, item.order_id)
    check_step(actor, order, "submit")  # type: ignore[arg-type]
    lines = sorted(facts.lines[order.id].values(), key=lambda ln: ln.id)
    if not lines:
        raise EmptyOrder("the order has no lines")
    wanted = {ln.product_id for ln in lines}
    if (refusal := orderable_refusal(order.kind, order.supplier_id, wanted, facts.products)) is not None:
        raise refusal
    products = {p: facts.products[p] for p in wanted}
    region_org = order.terminal_id if order.kind == "sales" else order.distributor_id
    region_id = facts.orgs[region_org].region_id
    today = now.date()
    ancestry = _ancestry(facts, region_id)
    allowed = {
        (a.supplier_id, a.category_id)
        for a in facts.auths
        if a.distributor_id == order.distributor_id and a.region_id in ancestry
    }
    if (refusal := authorisation_refusal(lines, products, allowed, region_id)) is not None:
        raise refusal
    priced = ((p, facts.prices.get((order.distributor_id, p))) for p in wanted)
    entries = {p: e for p, e in priced if e is not None}  # the distributor's prices, by product
    currency, prices = prices_of(lines, entries)
    takes: list[tuple[Any, int]] = []
    if order.kind == "purchase":
        categories = {p.category_id for p in products.values()}
        quotas = [
            q
            for q in facts.quotas
            if q.distributor_id == order.distributor_id
            and q.supplier_id == order.supplier_id
            and q.region_id in ancestry
            and q.period_start <= today <= q.period_end
            and (q.product_id in wanted or q.category_id in categories)
        ]
        takes = quota_takes(quotas, lines, products)
    # Every check passed: the effects, one change per UPDATE the one-by-one flushes make.
    total = 0
    for line, price in zip(lines, prices, strict=True):
        line_total = price * line.qty
        total += line_total
        if (line.unit_price_minor, line.line_total_minor) != (price, line_total):
            line.update(unit_price_minor=price, line_total_minor=line_total)
            _touch(facts, _LINES, line, now)
            _changed(facts, OrderLine, line)
    order.update(currency=currency, total_minor=total)
    if order.kind == "purchase":
        # consume_quotas' read flushes the priced order first: a version of its own.
        _touch(facts, _ORDERS, order, now)
        _changed(facts, Order, order)
        for quota, need in takes:
            quota["used_qty"] += need
            quota["version"] += 1
            facts.changed_quotas[quota.id] = quota
            _changed(facts, RegionalQuota, quota)
            facts.quota_uses.append(
                {"id": new_id(), "order_id": order.id, "quota_id": quota.id, "qty": need, "created_at": now}
            )
    order.update(state="submitted", region_id=region_id, submitted_at=now, submitted_by=actor.user_id)
    _touch(facts, _ORDERS, order, now)
    _changed(facts, Order, order)
    return _state(order)


# --- writes ---------------------------------------------------------------------------------------


async def _write(session: AsyncSession, facts: _Facts) -> None:
    if not facts.changes:
        return
    async with writes_planned_by_default(session):
        await _write_rows(session, facts)
    write_changes(session.sync_session, facts.changes)
    # ORM copies of rows written here (read earlier in the batch) must not be used stale.
    written = {*facts.changed_orders, *facts.changed_lines, *facts.changed_quotas}
    sync = session.sync_session
    for obj in list(sync.identity_map.values()):
        if isinstance(obj, Order | OrderLine | RegionalQuota) and obj.id in written:
            sync.expire(obj)
        elif isinstance(obj, OrderLine) and obj.id in facts.removed_lines:
            sync.expunge(obj)


async def _write_rows(session: AsyncSession, facts: _Facts) -> None:
    """New orders and lines, changed orders, lines and quotas, removed lines, quota uses."""
    pg = is_postgres(session)
    dialect_insert = pg_insert if pg else sqlite_insert
    try:
        if facts.new_orders:
            await session.execute(insert(_ORDERS), list(facts.new_orders.values()))
        if facts.new_lines:
            await session.execute(insert(_LINES), list(facts.new_lines.values()))
    except IntegrityError as exc:
        raise SetRace("another transaction wrote an order this set creates") from exc
    for table, rows in (
        (_ORDERS, facts.changed_orders),
        (_LINES, facts.changed_lines),
        (_QUOTAS, facts.changed_quotas),
    ):
        if rows:
            upsert = dialect_insert(table)
            upsert = upsert.on_conflict_do_update(
                index_elements=[table.c.id],
                set_={c.name: upsert.excluded[c.name] for c in table.c if c.name != "id"},
            )
            await session.execute(upsert, sorted(rows.values(), key=lambda r: r["id"]))
    if facts.removed_lines:
        await session.execute(delete(_LINES).where(_LINES.c.id.in_(sorted(facts.removed_lines))))
    if facts.quota_uses:
        await session.execute(insert(QuotaUse.__table__), facts.quota_uses)


__all__ = ["CreateIn", "LineIn", "OrderState", "SetRace", "SubmitIn", "apply_order_work"]
