"""What the set handlers (``backend/*/batch.py``) share: rows as attribute dicts, an ``IN`` of any
length as one statement shape (an array on PostgreSQL, a JSON list on SQLite), and the race that
sends a batch one by one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
from sqlalchemy import ARRAY, String, any_, bindparam, func, select, true
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import BindParameter


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
    values = sorted(set(values))
    if pg:
        return column == any_(bindparam(None, values, type_=ARRAY(String)))
    return in_json_list(column, bindparam(None, json_list(values)))


def among_named(column: Any, name: str, pg: bool, item: Any = String) -> Any:
    """:func:`among` for a statement built once: the list is bound per execution as ``name``,
    given as :func:`list_value`; ``item`` is the array's element type on PostgreSQL."""
    if pg:
        return column == any_(bindparam(name, type_=ARRAY(item)))
    return in_json_list(column, bindparam(name))


def probed_named(query: Select[Any], key: Any, name: str, pg: bool) -> Select[Any]:
    """``query`` for the rows whose ``key`` is among the list bound as ``name`` (:func:`list_value`).

    On PostgreSQL each value is its own probe of ``key`` (a primary or unique key), a ``LATERAL``
    subquery that ``OFFSET 0`` keeps whole: a plan cannot turn it into a scan filtering every row,
    as a generic plan made while the table was small did for ``key = ANY(list)`` and a pooled
    connection kept as the table grew (``tests/plans.py``). On SQLite :func:`among_named`."""
    if not pg:
        return query.where(among_named(key, name, pg))
    values = func.unnest(bindparam(name, type_=ARRAY(String))).table_valued("value").render_derived(name=name)
    # Named by position: the subquery keeps every column, repeated NULLs and literals included.
    positional = query.with_only_columns(*(c.label(f"c{n}") for n, c in enumerate(query.selected_columns)))
    probe = positional.where(key == values.c.value).offset(0).lateral(f"{name}_probe")
    return select(*probe.c).select_from(values).join(probe, true())


def list_value(values: Iterable[Any], pg: bool) -> Any:
    """A list as :func:`among_named` binds it: the list on PostgreSQL, its JSON text on SQLite."""
    return list(values) if pg else json_list(values)


def in_json_list(column: Any, param: BindParameter[Any]) -> Any:
    """SQLite: ``column IN (SELECT value FROM json_each(param))``; ``param`` is :func:`json_list`
    text. The subquery is materialised once and ``column``'s index used per value."""
    return column.in_(select(func.json_each(param).table_valued("value").c.value))


def json_list(values: Iterable[Any]) -> str:
    """The JSON array text that :func:`in_json_list` takes."""
    return msgspec.json.encode(list(values)).decode()


def as_rows(result: Any) -> list[Row]:
    return [Row(r) for r in result.mappings()]
