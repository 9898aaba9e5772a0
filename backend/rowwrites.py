"""Multi-row writes of one statement shape, compiled once per dialect.

A push batch writes a few hundred rows in a handful of tables. Through SQLAlchemy Core each
``execute(insert(t), rows)`` builds a cache key, looks the compiled statement up and processes
every row's parameters by name; on PostgreSQL a multi-row ``VALUES`` is also a new statement to
prepare for every row count. :class:`RowWrite` does that work once:

* on PostgreSQL the rows go as one JSON document through ``json_to_recordset``: one statement,
  one round trip, one prepared plan and one parameter whatever the number of rows. One array per
  column through ``unnest`` cost asyncpg 1.8–2.1 ms of CPU per 200 rows of 11 columns (it checks
  every element against ``collections.abc``), the document 0.7 ms with msgspec encoding it
  (``docs/performance.md``, issue 15). :meth:`RowWrite.pg_select` gives the ``SELECT … FROM
  json_to_recordset(…)`` part for data-modifying CTEs that write several tables in one statement;
* on SQLite the rows go as tuples to the driver's ``executemany`` of one ``INSERT``.

Values are converted with each column type's own bind processor (so ``UtcDateTime`` and JSON
store exactly what the ORM stores); a missing key is ``NULL``.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import msgspec
from sqlalchemy import JSON, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import UtcDateTime

_PG = postgresql.asyncpg.dialect()  # column types as PostgreSQL spells them (array casts)
Processors = tuple[Callable[[Any], Any] | None, ...]
# Per engine's dialect (its JSON serializer is the engine's), per write.
_PROCESSORS: weakref.WeakKeyDictionary[Dialect, dict[Any, Processors]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class RowWrite:
    """``INSERT INTO table (columns)`` of many rows, ``ON CONFLICT (conflict) DO UPDATE`` of
    ``update`` when given. Build it once (module level) and call :meth:`execute` per batch."""

    table: Table
    columns: tuple[str, ...]
    conflict: tuple[str, ...] = ()
    update: tuple[str, ...] = ()
    # Columns given by an SQL expression, the same for every row: (column, PostgreSQL, SQLite).
    expressions: tuple[tuple[str, str, str], ...] = ()

    def _names(self) -> str:
        return ", ".join([*(e[0] for e in self.expressions), *self.columns])

    def _on_conflict(self) -> str:
        if not self.conflict:
            return ""
        sets = ", ".join(f"{c} = excluded.{c}" for c in self.update)
        return f" ON CONFLICT ({', '.join(self.conflict)}) DO UPDATE SET {sets}"

    def pg_select(self, prefix: str) -> str:
        """``SELECT <columns> FROM json_to_recordset(:<prefix>) AS u(<column> <type>, …)``: the rows
        of :meth:`pg_params` ``(prefix)``; JSON columns travel as text inside it and are cast back
        (so ``None`` stays JSON ``null`` where the column says so, as the ORM stores it)."""
        defs = []
        outs = [e[1] for e in self.expressions]
        for name in self.columns:
            sql_type, is_json = _pg_type(self.table, name)
            defs.append(f"{name} {'text' if is_json else sql_type}")
            outs.append(f"CAST(u.{name} AS jsonb)" if is_json else f"u.{name}")
        return (
            f"SELECT {', '.join(outs)} FROM json_to_recordset(CAST(:{prefix} AS json)) "
            f"AS u({', '.join(defs)})"
        )

    def pg_insert(self, prefix: str) -> str:
        """The whole ``INSERT … SELECT … FROM json_to_recordset(…) [ON CONFLICT …]`` (a CTE body)."""
        return (
            f"INSERT INTO {self.table.name} ({self._names()}) {self.pg_select(prefix)}{self._on_conflict()}"
        )

    def pg_params(self, dialect: Dialect, prefix: str, rows: Sequence[dict[str, Any]]) -> dict[str, str]:
        """The rows as one JSON array of objects, named ``prefix`` as :meth:`pg_select` expects."""
        columns = _converted_columns(self, dialect, rows)
        document = [dict(zip(self.columns, values, strict=True)) for values in zip(*columns, strict=True)]
        return {prefix: msgspec.json.encode(document).decode()}

    def sqlite_tuples(self, dialect: Dialect, rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """The rows as tuples in column order, converted a column at a time."""
        return list(zip(*_converted_columns(self, dialect, rows), strict=True))

    async def execute(self, session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
        """Write ``rows`` (nothing when empty) on the session's connection."""
        if not rows:
            return
        conn = await session.connection()
        if conn.dialect.name == "postgresql":
            await conn.exec_driver_sql(*_pg_driver(self, self.pg_params(conn.dialect, "r", rows)))
        else:
            await conn.exec_driver_sql(_sqlite_sql(self), self.sqlite_tuples(conn.dialect, rows))


def _converted_columns(write: RowWrite, dialect: Dialect, rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """One list of bound values per column of ``write`` (a column at a time: one processor call
    per value through ``map``, not a lookup of the processor per cell)."""
    out: list[list[Any]] = []
    for name, process in zip(write.columns, _processors(write, dialect), strict=True):
        values = [r.get(name) for r in rows]
        if process is sqlite_utc_text:
            # A batch's rows share few instants (its ``now``): each is converted once.
            texts = {v: process(v) for v in set(values)}
            out.append([texts[v] for v in values])
        else:
            out.append(values if process is None else list(map(process, values)))
    return out


def _pg_type(table: Table, name: str) -> tuple[str, bool]:
    col_type = table.c[name].type
    impl = col_type.dialect_impl(_PG)
    if isinstance(impl, JSON) or isinstance(getattr(impl, "impl", None), JSON):
        return "jsonb", True
    return impl.compile(dialect=_PG), False


def _processors(write: RowWrite, dialect: Dialect) -> Processors:
    """Each column's bind processor for ``dialect`` (JSON as text on PostgreSQL, cast back there)."""
    known = _PROCESSORS.setdefault(dialect, {})
    procs = known.get(write)
    if procs is None:
        pg = dialect.name == "postgresql"
        procs = known[write] = tuple(
            (_json_text_or_null if _none_as_null(write.table, name) else _json_text)
            if pg and _pg_type(write.table, name)[1]
            else sqlite_utc_text
            if not pg and isinstance(write.table.c[name].type, UtcDateTime)
            else write.table.c[name].type._cached_bind_processor(dialect)
            for name in write.columns
        )
    return procs


def sqlite_utc_text(value: datetime | None) -> str | None:
    """What ``UtcDateTime`` stores on SQLite (its UTC check, then SQLAlchemy's SQLite ``DATETIME``
    text with microseconds), in one C call instead of two Python processors and a ``%`` format."""
    if value is None:
        return None
    if value.tzinfo is UTC:  # the usual case: the text without its "+00:00"
        return value.isoformat(" ", "microseconds")[:26]
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _none_as_null(table: Table, name: str) -> bool:
    impl = table.c[name].type.dialect_impl(_PG)
    return bool(getattr(impl, "none_as_null", False))


def _json_text(value: Any) -> str:
    """As SQLAlchemy's JSON stores it (``None`` is JSON ``null`` unless ``none_as_null``)."""
    return msgspec.json.encode(value).decode()


def _json_text_or_null(value: Any) -> str | None:
    return None if value is None else _json_text(value)


@cache
def _sqlite_sql(write: RowWrite) -> str:
    marks = ", ".join([*(e[2] for e in write.expressions), *("?" for _ in write.columns)])
    return f"INSERT INTO {write.table.name} ({write._names()}) VALUES ({marks}){write._on_conflict()}"


def pg_driver_sql(sql: str, names: Sequence[str]) -> str:
    """``sql`` with ``:name`` parameters rewritten to asyncpg's ``$n`` (in ``names`` order)."""
    index = {n: i + 1 for i, n in enumerate(names)}
    return re.sub(r"(?<![:\w]):(\w+)", lambda m: f"${index[m.group(1)]}", sql)


@cache
def _pg_sql(write: RowWrite) -> tuple[str, tuple[str, ...]]:
    return pg_driver_sql(write.pg_insert("r"), ("r",)), ("r",)


def _pg_driver(write: RowWrite, params: dict[str, str]) -> tuple[str, tuple[Any, ...]]:
    sql, names = _pg_sql(write)
    return sql, tuple(params[n] for n in names)


@dataclass(frozen=True)
class CombinedWrite:
    """Several :class:`RowWrite` as one statement: on PostgreSQL one ``INSERT`` with the others as
    data-modifying CTEs (foreign keys are checked at the end of the statement, so a row may refer
    to one written beside it); on SQLite one ``executemany`` each, in the order given."""

    parts: tuple[RowWrite, ...]

    async def execute(self, session: AsyncSession, rows: Sequence[Sequence[dict[str, Any]]]) -> None:
        """``rows[i]`` are the rows of ``parts[i]``; nothing is sent for an empty part on SQLite,
        and on PostgreSQL nothing at all when every part is empty."""
        if not any(rows):
            return
        conn = await session.connection()
        if conn.dialect.name != "postgresql":
            for write, part_rows in zip(self.parts, rows, strict=True):
                if part_rows:
                    tuples = write.sqlite_tuples(conn.dialect, part_rows)
                    await conn.exec_driver_sql(_sqlite_sql(write), tuples)
            return
        sql, names = _combined_sql(self)
        params: dict[str, str] = {}
        for n, (write, part_rows) in enumerate(zip(self.parts, rows, strict=True)):
            params.update(write.pg_params(conn.dialect, f"p{n}", part_rows))
        await conn.exec_driver_sql(sql, tuple(params[name] for name in names))


@cache
def _combined_sql(combined: CombinedWrite) -> tuple[str, tuple[str, ...]]:
    *ctes, last = [w.pg_insert(f"p{n}") for n, w in enumerate(combined.parts)]
    sql = (
        ("WITH " + ", ".join(f"w{n} AS ({body})" for n, body in enumerate(ctes)) + " ") if ctes else ""
    ) + last
    names = tuple(f"p{n}" for n in range(len(combined.parts)))
    return pg_driver_sql(sql, names), names
