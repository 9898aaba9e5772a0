"""Rows written through :mod:`backend.rowwrites` are stored exactly as the ORM stores them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Text, cast, select
from sqlalchemy.dialects import sqlite

from backend.changefeed import ChangeLog
from backend.db import UtcDateTime
from backend.rowwrites import RowWrite, sqlite_utc_text

_SQLITE = sqlite.dialect()
_ORM_PROCESSOR = UtcDateTime()._cached_bind_processor(_SQLITE)
_ZONES = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
_AWARE = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_ZONES)

LOG_WRITE = RowWrite(
    ChangeLog.__table__,
    ("tx", "scope", "entity", "entity_id", "op", "version", "data", "changed_at"),
)


@given(_AWARE)
def test_the_fast_sqlite_datetime_text_is_sqlalchemys(value: datetime) -> None:
    assert sqlite_utc_text(value) == _ORM_PROCESSOR(value)


def test_the_fast_sqlite_datetime_text_refuses_what_the_orm_refuses() -> None:
    assert sqlite_utc_text(None) is None is _ORM_PROCESSOR(None)
    for process in (sqlite_utc_text, _ORM_PROCESSOR):
        with pytest.raises(ValueError, match="naive"):
            process(datetime(2026, 12, 2, 12, 0))


async def test_rows_written_as_a_set_read_back_as_the_orms(session_factory) -> None:
    when = datetime(2026, 12, 2, 8, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8)))
    docs = [{"qty": 3, "name": "货架 A"}, None, {}]
    rows = [
        {
            "tx": 0,
            "scope": "test:rowwrite",
            "entity": "doc",
            "entity_id": f"set-{n}",
            "op": "upsert",
            "version": n + 1,
            "data": data,
            "changed_at": when + timedelta(seconds=n),
        }
        for n, data in enumerate(docs)
    ]
    async with session_factory() as session:
        await LOG_WRITE.execute(session, rows)
        for row in rows:
            session.add(ChangeLog(**{**row, "entity_id": row["entity_id"].replace("set", "orm")}))
        await session.commit()
    async with session_factory() as session:
        stored = (
            await session.execute(
                select(
                    ChangeLog.entity_id,
                    ChangeLog.data,
                    ChangeLog.changed_at,
                    cast(ChangeLog.changed_at, Text).label("stored_text"),
                )
                .where(ChangeLog.scope == "test:rowwrite")
                .order_by(ChangeLog.entity_id)
            )
        ).all()
    by_id = {r[0]: r[1:] for r in stored}
    assert len(by_id) == 2 * len(docs)
    for n, data in enumerate(docs):
        orm, as_set = by_id[f"orm-{n}"], by_id[f"set-{n}"]
        assert as_set == orm, n  # the same document, instant and stored text
        assert as_set[0] == data
        assert as_set[1] == (when + timedelta(seconds=n)).astimezone(UTC)
