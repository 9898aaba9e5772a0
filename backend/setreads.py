"""What the set handlers (``backend/*/batch.py``) share: rows as attribute dicts, an ``IN`` of any
length as one statement shape on PostgreSQL, and the race that sends a batch one by one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ARRAY, String, any_, bindparam


class SetRace(Exception):
    """Another transaction wrote a row this set meant to insert: the caller applies the batch one by one."""


class Row(dict):  # type: ignore[type-arg]
    """A row's column values, readable as attributes too (the pure rules read ``order.kind``)."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def among(column: Any, values: Iterable[str], pg: bool) -> Any:
    """``column IN values``; on PostgreSQL ``= ANY(array)``, one prepared statement for any count."""
    values = sorted(set(values))
    if pg:
        return column == any_(bindparam(None, values, type_=ARRAY(String)))
    return column.in_(values)


def as_rows(result: Any) -> list[Row]:
    return [Row(r) for r in result.mappings()]
