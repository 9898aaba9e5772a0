"""Recording changes to syncable rows, in the transaction that makes them.

Models that phones replicate inherit :class:`Syncable`. A session hook turns every flush of
such a row — whichever path wrote it: REST, a sync mutation, a job — into change-log rows,
one per scope it is visible in, plus a tombstone for any scope it left. Core bulk writers
that bypass the ORM call :func:`record_changes` themselves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from operator import itemgetter
from typing import Any, ClassVar

import msgspec
from sqlalchemy import Integer, event, inspect, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, SessionTransaction, declared_attr, mapped_column

from backend.changefeed.models import ChangeLog, ScopeRow
from backend.changefeed.rows import row_data
from backend.db import utcnow
from backend.txlocal import current_transaction, drop_rolled_back

UPSERT = "upsert"
DELETE = "delete"
TOUCHED_SCOPES_KEY = "fieldsync_touched_scopes"

Getter = Callable[[str], Any]


class Syncable:
    """Mixin for rows replicated to phones.

    Subclasses name their ``__sync_entity__``, say which scopes a row belongs to from its
    column values, and which fields a phone receives (every column less ``__sync_exclude__``).
    """

    __sync_entity__: ClassVar[str]
    __sync_exclude__: ClassVar[frozenset[str]] = frozenset()
    # Narrower types than the columns say, for the row Struct (say, ``{"state": Literal[...]}``).
    __sync_types__: ClassVar[dict[str, Any]] = {}

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        return {"version_id_col": cls.version}

    @classmethod
    def sync_scopes(cls, get: Getter) -> set[str]:
        """Scopes a row with these column values is visible in."""
        raise NotImplementedError

    def sync_data(self) -> dict[str, Any]:
        """The row as a phone receives it: built through the entity's row Struct
        (:func:`backend.changefeed.rows.row_struct`), whose JSON Schema ``GET /sync/v1/schema``
        publishes."""
        return row_data(self)


def to_json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def row_digest(entity: str, entity_id: str, version: int) -> int:
    """32-bit hash of (entity, id, version); scope checksums sum these (no 64-bit overflow)."""
    raw = hashlib.blake2b(f"{entity}:{entity_id}:{version}".encode(), digest_size=4).digest()
    return int.from_bytes(raw, "big")


@dataclass(slots=True)
class Change:
    scope: str
    entity: str
    entity_id: str
    op: str
    version: int
    data: dict[str, Any] | None


def transaction_id_expression(postgres: bool) -> Any:
    """The writing transaction's id as stored in ``tx``: ``pg_current_xact_id()`` on PostgreSQL, 0 on
    SQLite (where writers are serialised)."""
    return literal_column("(pg_current_xact_id()::text)::bigint" if postgres else "0")


def _tx_expression(session: Session) -> Any:
    return transaction_id_expression(
        session.bind is not None and session.get_bind().dialect.name == "postgresql"
    )


def write_changes(session: Session, changes: Iterable[Change]) -> None:
    """Append ``changes`` to the log and keep ``scope_rows`` in step (synchronous session).

    While the session buffers (:func:`buffer_changes`), the changes wait in memory instead, tagged
    with the (sub)transaction that made them, and are written by :func:`write_buffered`."""
    changes = list(changes)
    if not changes:
        return
    buffer = session.info.get(_BUFFER_KEY)
    if buffer is not None:
        tx = current_transaction(session)
        buffer.extend((tx, c) for c in changes)
        return
    _write_now(session, changes)


def _write_now(session: Session, changes: list[Change]) -> None:
    # Who listens after commit (live "pull now" hints) reads which scopes this transaction touched.
    session.info.setdefault(TOUCHED_SCOPES_KEY, set()).update(c.scope for c in changes)
    conn = session.connection()
    now = utcnow()
    if conn.dialect.name == "postgresql":
        conn.execute(_PG_WRITE_CHANGES, _pg_params(changes, now))
        return
    # The ids of one INSERT rise in the order of its rows; the order RETURNING gives them back in is
    # not guaranteed, so each row comes back with its key and the highest id of a key is its last
    # change (a row changed twice in one write is upserted once).
    columns = ChangeLog.__table__.c
    stamp = columns.changed_at.type._cached_bind_processor(conn.dialect)(now)
    as_json = columns.data.type._cached_bind_processor(conn.dialect)  # the engine's serializer
    returned: list[Any] = []
    data: Any = _NO_DATA
    encoded: Any = None
    for start in range(0, len(changes), _SQLITE_ROWS_PER_INSERT):
        part = changes[start : start + _SQLITE_ROWS_PER_INSERT]
        params: list[Any] = []
        for c in part:
            if c.data is not data:  # a row's changes in its several scopes share one data object
                data, encoded = c.data, as_json(c.data)
            params += (c.scope, c.entity, c.entity_id, c.op, c.version, encoded, stamp)
        returned += conn.exec_driver_sql(_sqlite_insert_changes(len(part)), tuple(params)).all()
    last: dict[tuple[str, str, str], Any] = {}
    for row in returned:
        key = (row[1], row[2], row[3])
        if key not in last or row[0] > last[key][0]:
            last[key] = row
    upserts = []
    deletes = []
    for (scope, entity, entity_id), (change_id, _s, _e, _i, op, version) in last.items():
        if op == DELETE:
            deletes.append((scope, entity, entity_id))
        else:
            upserts.append(
                (scope, entity, entity_id, version, row_digest(entity, entity_id, version), change_id)
            )
    if deletes:
        conn.exec_driver_sql(
            "DELETE FROM scope_rows WHERE scope = ? AND entity = ? AND entity_id = ?", deletes
        )
    if upserts:
        conn.exec_driver_sql(_SQLITE_UPSERT_SCOPE_ROWS, upserts)


_NO_DATA = object()
# SQLite: statements written once, rows passed as tuples (no per-row parameter processing by
# name); values converted by the columns' own bind processors, as SQLAlchemy stores them.
_SQLITE_ROWS_PER_INSERT = 1000  # 7 parameters a row, under SQLite's 32,766 variables
_SQLITE_UPSERT_SCOPE_ROWS = (
    "INSERT INTO scope_rows (scope, entity, entity_id, version, digest, change_id) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (scope, entity, entity_id) DO UPDATE SET "
    "version = excluded.version, digest = excluded.digest, change_id = excluded.change_id"
)


@cache
def _sqlite_insert_changes(rows: int) -> str:
    values = ", ".join(["(0, ?, ?, ?, ?, ?, ?, ?)"] * rows)
    return (
        "INSERT INTO change_log (tx, scope, entity, entity_id, op, version, data, changed_at) "
        f"VALUES {values} RETURNING id, scope, entity, entity_id, op, version"
    )


# PostgreSQL: one statement of one shape whatever the number of changes (a multi-row VALUES is a
# new statement to prepare for every row count), the rows passed as one JSON document (msgspec
# encodes it in one call; one array per column cost asyncpg a ``collections.abc`` check per
# element). A row's changes in its several scopes travel as one element with the list of scopes
# (:func:`_grouped`): its data is encoded, sent and parsed into ``jsonb`` once, not once per
# scope (the parse was a third of the statement's time). The statement writes the log rows, in
# the order of the changes, then each key's last change (the highest id of its key: ids of one
# INSERT rise in the order of its rows) deleted from or upserted into ``scope_rows``. A change's
# data travels as a nested JSON value (JSON ``null``, a delete's, becomes SQL ``NULL``). The
# digests come from Python (``row_digest``), one per row, matched back on (entity, id, version).
_PG_WRITE_CHANGES = text(
    "WITH g AS (SELECT * FROM ROWS FROM (json_to_recordset(CAST(:changes AS json)) AS (scopes varchar[], "
    "entity varchar, entity_id varchar, op varchar, version integer, data jsonb, digest bigint)) "
    "WITH ORDINALITY AS g(scopes, entity, entity_id, op, version, data, digest, n)), "
    "logged AS (INSERT INTO change_log (tx, scope, entity, entity_id, op, version, data, changed_at) "
    "SELECT (pg_current_xact_id()::text)::bigint, s.scope, g.entity, g.entity_id, g.op, g.version, "
    "g.data, CAST(:changed_at AS timestamptz) FROM g CROSS JOIN LATERAL unnest(g.scopes) "
    "WITH ORDINALITY AS s(scope, k) ORDER BY g.n, s.k "
    "RETURNING id, scope, entity, entity_id, op, version), "
    "last AS (SELECT DISTINCT ON (scope, entity, entity_id) id, scope, entity, entity_id, op, version "
    "FROM logged ORDER BY scope, entity, entity_id, id DESC), "
    "gone AS (DELETE FROM scope_rows s USING last WHERE last.op = 'delete' AND s.scope = last.scope "
    "AND s.entity = last.entity AND s.entity_id = last.entity_id) "
    "INSERT INTO scope_rows (scope, entity, entity_id, version, digest, change_id) "
    "SELECT DISTINCT ON (last.scope, last.entity, last.entity_id) last.scope, last.entity, "
    "last.entity_id, last.version, g.digest, last.id FROM last JOIN g ON g.entity = last.entity "
    "AND g.entity_id = last.entity_id AND g.version = last.version WHERE last.op <> 'delete' "
    "ON CONFLICT (scope, entity, entity_id) DO UPDATE SET version = excluded.version, "
    "digest = excluded.digest, change_id = excluded.change_id"
)


def _grouped(changes: list[Change]) -> list[tuple[list[str], Change]]:
    """Runs of adjacent changes that differ only in their scope (one row's changes: the same
    entity, id, op and version, and the very same data object), as (scopes, first change). The
    runs, expanded in order, are ``changes`` again."""
    runs: list[tuple[list[str], Change]] = []
    for c in changes:
        if runs:
            scopes, first = runs[-1]
            if (
                c.data is first.data
                and c.entity_id == first.entity_id
                and c.entity == first.entity
                and c.op == first.op
                and c.version == first.version
            ):
                scopes.append(c.scope)
                continue
        runs.append(([c.scope], c))
    return runs


def _pg_params(changes: list[Change], now: datetime) -> dict[str, Any]:
    document = [
        {
            "scopes": scopes,
            "entity": c.entity,
            "entity_id": c.entity_id,
            "op": c.op,
            "version": c.version,
            "data": c.data,
            "digest": row_digest(c.entity, c.entity_id, c.version),
        }
        for scopes, c in _grouped(changes)
    ]
    return {"changed_at": now, "changes": msgspec.json.encode(document).decode()}


# --- buffering: a push batch writes its changes once, at its end ------------------------------

_BUFFER_KEY = "fieldsync_change_buffer"


def buffer_changes(session: AsyncSession) -> None:
    """Hold the changes of every following flush in memory until :func:`write_buffered`.

    Changes made inside a savepoint that rolls back are dropped with it; a root transaction that
    ends without :func:`write_buffered` drops them all. So buffering changes nothing about what
    the log holds after commit, only how many statements write it."""
    session.sync_session.info[_BUFFER_KEY] = []


async def write_buffered(session: AsyncSession) -> None:
    """Stop buffering and write the buffered changes (in the order they were made)."""
    buffer = session.sync_session.info.pop(_BUFFER_KEY, None)
    if buffer:
        changes = [c for _tx, c in buffer]
        await session.run_sync(lambda s: _write_now(s, changes))


def discard_buffered(session: AsyncSession) -> None:
    """Stop buffering, dropping what is held (after a failure; the transaction is rolled back)."""
    session.sync_session.info.pop(_BUFFER_KEY, None)


def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    drop_rolled_back(session, _BUFFER_KEY, previous_transaction)


def _drop_buffer(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_BUFFER_KEY, None)


def inserted_changes(obj: Syncable) -> list[Change]:
    """The changes of a new syncable row inserted outside the ORM's flush (an ``INSERT … ON
    CONFLICT DO NOTHING … RETURNING`` entity), for :func:`record_changes`."""
    cls = type(obj)
    data = obj.sync_data()
    entity_id = str(inspect(obj).identity[0])
    return [
        Change(s, cls.__sync_entity__, entity_id, UPSERT, obj.version, data)
        for s in sorted(cls.sync_scopes(_new_getter(obj)))
    ]


# A column whose values are one of these is sent as it is; any other (times, decimals, a type
# that does not say) goes through :func:`to_json`.
_PLAIN_TYPES = (str, int, bool, float, dict, list)


@dataclass(frozen=True, slots=True)
class _DataLayout:
    """Which of a syncable's columns a phone receives, read in one call, and which need converting."""

    keys: tuple[str, ...]
    pick: Callable[[dict[str, Any]], tuple[Any, ...]]
    converted: tuple[str, ...]


def _plain(column: Any) -> bool:
    try:
        return issubclass(column.type.python_type, _PLAIN_TYPES)
    except NotImplementedError:
        return False


def _data_layout(cls: type[Syncable]) -> _DataLayout:
    layout = _DATA_LAYOUTS.get(cls)
    if layout is None:
        attrs = [a for a in inspect(cls).column_attrs if a.key not in cls.__sync_exclude__]
        keys = tuple(a.key for a in attrs)  # every syncable has an id and a version: two at least
        converted = tuple(a.key for a in attrs if not all(_plain(c) for c in a.columns))
        layout = _DATA_LAYOUTS[cls] = _DataLayout(keys, itemgetter(*keys), converted)
    return layout


_DATA_LAYOUTS: dict[type, _DataLayout] = {}


def row_changes(cls: type[Syncable], values: dict[str, Any]) -> list[Change]:
    """The changes of a syncable row written with Core, from its column values (every column, as
    the ORM would hold them): what the flush hook records for the same row, for
    :func:`write_changes`."""
    layout = _data_layout(cls)
    data = dict(zip(layout.keys, layout.pick(values), strict=True))
    for key in layout.converted:
        data[key] = to_json(data[key])
    entity_id = str(values["id"])
    return [
        Change(s, cls.__sync_entity__, entity_id, UPSERT, values["version"], data)
        for s in sorted(cls.sync_scopes(values.__getitem__))
    ]


async def record_changes(session: AsyncSession, changes: Iterable[Change]) -> None:
    """For Core bulk writers that bypass the ORM hook."""
    batch = list(changes)
    await session.run_sync(lambda s: write_changes(s, batch))


async def scope_checksum(session: AsyncSession, scope: str) -> tuple[int, int]:
    """(count, sum of row digests) of what ``scope`` holds now."""
    from sqlalchemy import func

    count, total = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(ScopeRow.digest), 0)).where(ScopeRow.scope == scope)
        )
    ).one()
    return int(count), int(total)


# --- the session hook -------------------------------------------------------------------

_PENDING_KEY = "fieldsync_pending_changes"


def _old_getter(obj: Any) -> Getter:
    state = inspect(obj)

    def get(name: str) -> Any:
        hist = state.attrs[name].history
        if hist.deleted:
            return hist.deleted[0]
        return getattr(obj, name)

    return get


def _new_getter(obj: Any) -> Getter:
    return lambda name: getattr(obj, name)


def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    # A fresh list each flush: a flush that failed (say, an IntegrityError inside a savepoint the
    # caller recovers from) never reached _after_flush, and its rows must not be logged later.
    pending: list[tuple[str, Any, set[str]]] = []
    session.info[_PENDING_KEY] = pending
    for obj in session.new:
        if isinstance(obj, Syncable):
            pending.append((UPSERT, obj, set()))
    for obj in session.dirty:
        if isinstance(obj, Syncable) and session.is_modified(obj, include_collections=False):
            old_scopes = type(obj).sync_scopes(_old_getter(obj))
            pending.append((UPSERT, obj, old_scopes))
    for obj in session.deleted:
        if isinstance(obj, Syncable):
            pending.append((DELETE, obj, type(obj).sync_scopes(_old_getter(obj))))


def _after_flush(session: Session, _ctx: Any) -> None:
    pending = session.info.pop(_PENDING_KEY, [])
    changes: list[Change] = []
    for op, obj, old_scopes in pending:
        cls = type(obj)
        entity = cls.__sync_entity__
        entity_id = str(inspect(obj).identity[0]) if inspect(obj).identity else str(obj.id)
        if op == DELETE:
            changes.extend(
                Change(s, entity, entity_id, DELETE, obj.version, None) for s in sorted(old_scopes)
            )
            continue
        scopes = cls.sync_scopes(_new_getter(obj))
        data = obj.sync_data()
        changes.extend(Change(s, entity, entity_id, UPSERT, obj.version, data) for s in sorted(scopes))
        changes.extend(
            Change(s, entity, entity_id, DELETE, obj.version, None) for s in sorted(old_scopes - scopes)
        )
    write_changes(session, changes)


def install_hooks() -> None:
    """Attach the recording hook to every ORM session (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_soft_rollback", _drop_rolled_back)
        event.listen(Session, "after_transaction_end", _drop_buffer)


install_hooks()
