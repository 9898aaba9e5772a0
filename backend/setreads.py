"""What the set handlers (``backend/*/batch.py``) share: rows as attribute dicts, an ``IN`` of any
length as one statement shape (an array on PostgreSQL, a JSON list on SQLite), and the race that
sends a batch one by one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
from sqlalchemy import ARRAY, String, any_, bindparam, func, select
from sqlalchemy.sql.elements import BindParameter

from backend.db import is_postgres


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
    """``column IN values`` as one statement for any count: ``= ANY(array)`` on PostgreSQL,
    ``IN (SELECT value FROM json_each(:list))`` on SQLite (an ``IN`` list is new SQL for every
    length: SQLAlchemy renders it again and SQLite prepares it again)."""
    value = set_value(values, pg)
    if pg:
        return column == any_(bindparam(None, value, type_=ARRAY(String)))
    return in_json_list(column, bindparam(None, value))


def among_named(column: Any, name: str, pg: bool, item: Any = String) -> Any:
    """:func:`among` for a statement built once: the list is bound per execution as ``name``,
    given as :func:`list_value`; ``item`` is the array's element type on PostgreSQL."""
    if pg:
        return column == any_(bindparam(name, type_=ARRAY(item)))
    return in_json_list(column, bindparam(name))


def list_value(values: Iterable[Any], pg: bool) -> Any:
    """A list as :func:`among_named` binds it: the list on PostgreSQL, its JSON text on SQLite."""
    return list(values) if pg else json_list(values)


def set_value(values: Iterable[Any], pg: bool) -> Any:
    """:func:`list_value` of the distinct ``values``, sorted (a statement's ``IN`` of a set)."""
    return list_value(sorted(set(values)), pg)


async def execute_among(session: Any, statement: Any, ids: Iterable[Any], **params: Any) -> Any:
    """Run ``statement``, built with ``among_named(column, "ids", pg)``, for the distinct ``ids``."""
    return await session.execute(statement, {"ids": set_value(ids, is_postgres(session)), **params})


def in_json_list(column: Any, param: BindParameter[Any]) -> Any:
    """SQLite: ``column IN (SELECT value FROM json_each(param))``; ``param`` is :func:`json_list`
    text. The subquery is materialised once and ``column``'s index used per value."""
    return column.in_(select(func.json_each(param).table_valued("value").c.value))


def json_list(values: Iterable[Any]) -> str:
    """The JSON array text that :func:`in_json_list` takes."""
    return msgspec.json.encode(list(values)).decode()


def as_rows(result: Any) -> list[Row]:
    return [Row(r) for r in result.mappings()]
