"""JSON columns go through msgspec: documents round-trip on SQLite (JSON text) and PostgreSQL (JSONB)."""

from __future__ import annotations

import msgspec
from sqlalchemy import Text, cast, select

from backend.changefeed import ChangeLog
from backend.db import utcnow

DOCUMENT = {
    "name": 'Café ☕ "quoted" \\ back',
    "price_minor": 2**53 + 1,
    "ratio": 0.1,
    "negative": -3.25e-7,
    "active": True,
    "missing": None,
    "lines": [{"qty": 3, "tags": ["a", "b"]}, []],
    "nested": {"deep": {"deeper": {}}},
}


async def test_documents_round_trip_through_json_columns(session_factory):
    async with session_factory() as session:
        for n, data in enumerate([DOCUMENT, None, {}]):
            session.add(
                ChangeLog(
                    tx=0,
                    scope="test:json",
                    entity="doc",
                    entity_id=str(n),
                    op="upsert",
                    version=1,
                    data=data,
                    changed_at=utcnow(),
                )
            )
        await session.commit()
    async with session_factory() as session:
        rows = (
            await session.execute(
                select(ChangeLog.data, cast(ChangeLog.data, Text).label("text"))
                .where(ChangeLog.scope == "test:json")
                .order_by(ChangeLog.entity_id)
            )
        ).all()
    assert [r[0] for r in rows] == [DOCUMENT, None, {}]
    # The stored text (what a JSON pull passes through untouched) is the same document.
    assert msgspec.json.decode(rows[0][1]) == DOCUMENT
    assert rows[1][1] in (None, "null")
