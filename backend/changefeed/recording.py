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
from typing import Any, ClassVar

import msgspec
from sqlalchemy import Integer, bindparam, delete, event, insert, inspect, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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
    tx = _tx_expression(session)
    is_pg = conn.dialect.name == "postgresql"
    # The ids of one INSERT rise in the order of its rows; the order RETURNING gives them back in is
    # not guaranteed, so each row comes back with its key and the highest id of a key is its last
    # change (a row changed twice in one write is upserted once: PostgreSQL refuses it twice).
    if is_pg:
        returned = conn.execute(_PG_INSERT_CHANGES, _pg_columns(changes, now)).all()
    else:
        rows = [
            {
                "scope": c.scope,
                "entity": c.entity,
                "entity_id": c.entity_id,
                "op": c.op,
                "version": c.version,
                "data": c.data,
                "changed_at": now,
            }
            for c in changes
        ]
        returned = conn.execute(
            insert(ChangeLog)
            .values(tx=tx)
            .returning(
                ChangeLog.id,
                ChangeLog.scope,
                ChangeLog.entity,
                ChangeLog.entity_id,
                ChangeLog.op,
                ChangeLog.version,
            ),
            rows,
        ).all()
    last: dict[tuple[str, str, str], Any] = {}
    for row in returned:
        key = (row.scope, row.entity, row.entity_id)
        if key not in last or row.id > last[key].id:
            last[key] = row
    upserts = []
    deletes = []
    for (scope, entity, entity_id), change in last.items():
        if change.op == DELETE:
            deletes.append({"s": scope, "e": entity, "i": entity_id})
        else:
            upserts.append(
                {
                    "scope": scope,
                    "entity": entity,
                    "entity_id": entity_id,
                    "version": change.version,
                    "digest": row_digest(entity, entity_id, change.version),
                    "change_id": change.id,
                }
            )
    if deletes:
        conn.execute(
            delete(ScopeRow).where(
                ScopeRow.scope == bindparam("s"),
                ScopeRow.entity == bindparam("e"),
                ScopeRow.entity_id == bindparam("i"),
            ),
            deletes,
        )
    if upserts:
        stmt = (pg_insert if is_pg else sqlite_insert)(ScopeRow)
        stmt = stmt.on_conflict_do_update(
            index_elements=["scope", "entity", "entity_id"],
            set_={
                "version": stmt.excluded.version,
                "digest": stmt.excluded.digest,
                "change_id": stmt.excluded.change_id,
            },
        )
        conn.execute(stmt, upserts)


# PostgreSQL: one statement of one shape whatever the number of changes (a multi-row VALUES is a
# new statement to prepare for every row count), the rows passed as one array per column.
_PG_INSERT_CHANGES = text(
    "INSERT INTO change_log (tx, scope, entity, entity_id, op, version, data, changed_at) "
    "SELECT (pg_current_xact_id()::text)::bigint, u.scope, u.entity, u.entity_id, u.op, u.version, "
    "CAST(u.data AS jsonb), CAST(:changed_at AS timestamptz) "
    "FROM unnest(CAST(:scopes AS varchar[]), CAST(:entities AS varchar[]), CAST(:entity_ids AS varchar[]), "
    "CAST(:ops AS varchar[]), CAST(:versions AS integer[]), CAST(:datas AS text[])) "
    "WITH ORDINALITY AS u(scope, entity, entity_id, op, version, data, n) ORDER BY u.n "
    "RETURNING id, scope, entity, entity_id, op, version"
)


def _pg_columns(changes: list[Change], now: datetime) -> dict[str, Any]:
    return {
        "changed_at": now,
        "scopes": [c.scope for c in changes],
        "entities": [c.entity for c in changes],
        "entity_ids": [c.entity_id for c in changes],
        "ops": [c.op for c in changes],
        "versions": [c.version for c in changes],
        "datas": [None if c.data is None else msgspec.json.encode(c.data).decode() for c in changes],
    }


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


def _data_keys(cls: type[Syncable]) -> list[str]:
    keys = _DATA_KEYS.get(cls)
    if keys is None:
        keys = _DATA_KEYS[cls] = [
            col.key for col in inspect(cls).column_attrs if col.key not in cls.__sync_exclude__
        ]
    return keys


_DATA_KEYS: dict[type, list[str]] = {}


def row_changes(cls: type[Syncable], values: dict[str, Any]) -> list[Change]:
    """The changes of a syncable row written with Core, from its column values (every column, as
    the ORM would hold them): what the flush hook records for the same row, for
    :func:`write_changes`."""
    data = {key: to_json(values[key]) for key in _data_keys(cls)}
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
