"""Every write to a syncable row lands in the change feed in the same transaction."""

from __future__ import annotations

from sqlalchemy import select

from backend.catalog import Product
from backend.catalog import service as catalog
from backend.changefeed import ChangeLog, ScopeRow, row_digest, scope_checksum
from backend.changefeed.recording import DELETE, UPSERT, Change, record_changes
from backend.demo import SYSTEM
from backend.identity import Organisation


async def _changes(session, entity_id):
    query = select(ChangeLog).where(ChangeLog.entity_id == entity_id).order_by(ChangeLog.id)
    rows = await session.execute(query)
    return rows.scalars().all()


async def test_create_update_delete_are_recorded_per_scope(session_factory, network):
    supplier = network.org("sup-a")
    category = network.categories[("sup-a", "beverages")]
    async with session_factory() as session:
        product = await catalog.create_product(
            session, SYSTEM, supplier_id=supplier.id, category_id=category.id, sku="NEW-1", name="New"
        )
        await session.commit()
        pid = product.id
    async with session_factory() as session:
        product = await session.get(Product, pid)
        product.name = "Renamed"
        await session.commit()
    async with session_factory() as session:
        changes = await _changes(session, pid)
        assert [(c.scope, c.op, c.version) for c in changes] == [
            (f"catalog:{supplier.id}", "upsert", 1),
            (f"catalog:{supplier.id}", "upsert", 2),
        ]
        assert changes[-1].data["name"] == "Renamed"
        assert changes[0].id < changes[1].id
        await session.delete(await session.get(Product, pid))
        await session.commit()
    async with session_factory() as session:
        changes = await _changes(session, pid)
        assert changes[-1].op == "delete" and changes[-1].data is None
        left = await session.execute(select(ScopeRow).where(ScopeRow.entity_id == pid))
        assert left.first() is None


async def test_a_rolled_back_write_leaves_no_change(session_factory, network):
    supplier = network.org("sup-a")
    category = network.categories[("sup-a", "beverages")]
    async with session_factory() as session:
        product = await catalog.create_product(
            session, SYSTEM, supplier_id=supplier.id, category_id=category.id, sku="GHOST", name="Ghost"
        )
        pid = product.id
        await session.rollback()
    async with session_factory() as session:
        assert await _changes(session, pid) == []


async def test_moving_a_row_out_of_a_scope_leaves_a_tombstone(session_factory, network):
    shop = network.org("shop-001")
    old_parent, new_parent = shop.parent_id, network.org("dist-21").id
    async with session_factory() as session:
        org = await session.get(Organisation, shop.id)
        org.parent_id = new_parent
        await session.commit()
    async with session_factory() as session:
        changes = await _changes(session, shop.id)
        last = {(c.scope, c.op) for c in changes if c.version == 2}
        assert (f"org:{old_parent}", "delete") in last
        assert (f"org:{new_parent}", "upsert") in last
        assert (f"org:{shop.id}", "upsert") in last


async def test_scope_checksum_counts_live_rows(session_factory, network):
    supplier = network.org("sup-b")
    scope = f"catalog:{supplier.id}"
    async with session_factory() as session:
        count, total = await scope_checksum(session, scope)
        rows = (await session.execute(select(ScopeRow).where(ScopeRow.scope == scope))).scalars().all()
        assert count == len(rows) > 20
        assert total == sum(row_digest(r.entity, r.entity_id, r.version) for r in rows)


async def test_postgres_changes_carry_their_transaction_id(session_factory, network, db_url):
    async with session_factory() as session:
        txs = set((await session.execute(select(ChangeLog.tx).limit(50))).scalars())
    if db_url.startswith("postgresql"):
        assert txs and 0 not in txs
    else:
        assert txs == {0}


async def test_written_changes_come_back_in_order_whatever_they_share(session_factory):
    """One row's changes in several scopes travel once (their data shared); rows that only look
    alike, the same data object met again later, and deletes all come back as given, in order."""
    shared = {"id": "e1", "name": "one"}
    lookalike = {"id": "e1", "name": "one"}  # equal, another object: its own element
    changes = [
        Change("s:a", "thing", "e1", UPSERT, 1, shared),
        Change("s:b", "thing", "e1", UPSERT, 1, shared),
        Change("s:a", "thing", "e1", UPSERT, 2, shared),  # same object, another version
        Change("s:a", "thing", "e2", UPSERT, 2, shared),  # same object, another row
        Change("s:c", "thing", "e1", UPSERT, 1, lookalike),
        Change("s:b", "thing", "e1", DELETE, 2, None),
        Change("s:c", "thing", "e1", DELETE, 2, None),
        Change("s:a", "other", "e1", DELETE, 2, None),  # another entity
    ]
    async with session_factory() as session:
        await record_changes(session, changes)
        got = (
            await session.execute(
                select(ChangeLog).where(ChangeLog.entity.in_(["thing", "other"])).order_by(ChangeLog.id)
            )
        ).scalars()
        assert [(c.scope, c.entity, c.entity_id, c.op, c.version, c.data) for c in got] == [
            (c.scope, c.entity, c.entity_id, c.op, c.version, c.data) for c in changes
        ]
        kept = await session.execute(
            select(ScopeRow.scope, ScopeRow.entity, ScopeRow.entity_id, ScopeRow.version, ScopeRow.digest)
            .where(ScopeRow.entity.in_(["thing", "other"]))
            .order_by(ScopeRow.scope, ScopeRow.entity_id)
        )
        assert kept.all() == [
            ("s:a", "thing", "e1", 2, row_digest("thing", "e1", 2)),
            ("s:a", "thing", "e2", 2, row_digest("thing", "e2", 2)),
        ]
        await session.rollback()
