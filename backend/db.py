"""The central store: declarative base, engine and session factory, ids and clocks.

SQLite (WAL, foreign keys, busy timeout) is the embedded default; PostgreSQL runs in
production through asyncpg. Services take the ``AsyncSession`` they work in; the caller
owns the transaction.

SQLite has one writer at a time. A transaction is a writer unless it was begun read-only
(:func:`read_only` / :data:`READ_ONLY`): writers wait their turn at a per-process FIFO gate in
the event loop, then ``BEGIN IMMEDIATE``; read-only transactions ``BEGIN`` (deferred, a WAL
snapshot) and never wait for writers. A read-only transaction cannot write (``query_only``),
so no transaction ever upgrades a read lock to a write lock and meets "database is locked".
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
import uuid
import weakref
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, String, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util.concurrency import await_only, in_greenlet

from backend import sqlite_driver
from backend.search_text import index_text

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL, INTEGER on SQLite (so it can be an autoincrementing rowid alias).
BigId = BigInteger().with_variant(Integer(), "sqlite")
JsonDoc = JSON().with_variant(postgresql.JSONB(), "postgresql").with_variant(sqlite.JSON(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both SQLite and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JsonDoc}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A time-ordered 128-bit id (UUIDv7 layout) as 32 hex characters.

    Time order keeps B-tree inserts local; phones may mint ids offline in the same form.
    """
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand & ((1 << 76) - 1))
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return f"{value:032x}"


IdStr = String(32)


# Execution option: this transaction only reads (SQLite: deferred BEGIN, no write gate).
READ_ONLY = "fieldsync_read_only"
# How long a SQLite writer waits for the write gate before it is told the database is busy.
WRITE_GATE_TIMEOUT_S = 30.0
_GATE_KEY = "fieldsync_write_gate"
_QUERY_ONLY_KEY = "fieldsync_query_only"


def _json_encode(value: Any) -> str:
    return msgspec.json.encode(value).decode()


class _WriteGate:
    """One asyncio.Lock per event loop: SQLite writers of this process queue here in arrival
    order (instead of spinning in SQLite's busy handler, which is not first-come-first-served).

    Held from a writer's BEGIN to its COMMIT/ROLLBACK; the holder is recorded in the pooled
    connection's ``info`` so a connection returned or invalidated mid-transaction frees it."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def acquire(self, info: dict[Any, Any]) -> None:
        """Wait for the gate (called inside SQLAlchemy's greenlet, so it may await)."""
        if _GATE_KEY in info or not in_greenlet():
            return
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        try:
            await_only(_acquire(lock))
        except TimeoutError:
            busy = sqlite3.OperationalError("database is locked (write gate busy)")
            raise OperationalError("BEGIN IMMEDIATE", None, busy) from None
        info[_GATE_KEY] = lock

    def waiting(self) -> int:
        """Writers of the running event loop queued at the gate now."""
        lock = self._locks.get(asyncio.get_running_loop())
        return len(getattr(lock, "_waiters", None) or ()) if lock is not None else 0

    @staticmethod
    def release(info: dict[Any, Any]) -> None:
        lock = info.pop(_GATE_KEY, None)
        if lock is not None and lock.locked():
            lock.release()


async def _acquire(lock: asyncio.Lock) -> None:
    async with asyncio.timeout(WRITE_GATE_TIMEOUT_S):
        await lock.acquire()


def read_only(engine: AsyncEngine) -> AsyncEngine:
    """``engine`` for sessions that only read: on SQLite their transactions neither take the write
    lock nor wait for writers (and cannot write); on PostgreSQL nothing changes."""
    cached: AsyncEngine | None = _READERS.get(engine.sync_engine)
    if cached is None:
        cached = _READERS[engine.sync_engine] = engine.execution_options(**{READ_ONLY: True})
    return cached


_READERS: weakref.WeakKeyDictionary[Any, AsyncEngine] = weakref.WeakKeyDictionary()


_GATES: weakref.WeakKeyDictionary[Any, _WriteGate] = weakref.WeakKeyDictionary()


def writers_waiting(engine: AsyncEngine) -> int:
    """SQLite writers of this process waiting for the write gate of ``engine`` (0 on PostgreSQL)."""
    gate = _GATES.get(engine.sync_engine.pool)
    return gate.waiting() if gate is not None else 0


def _install_sqlite_transactions(engine: AsyncEngine) -> None:
    gate = _GATES[engine.sync_engine.pool] = _WriteGate()

    @event.listens_for(engine.sync_engine, "begin")
    def _sqlite_begin(conn: Any) -> None:
        info = conn.info
        if conn.get_execution_options().get(READ_ONLY):
            if not info.get(_QUERY_ONLY_KEY):
                conn.exec_driver_sql("PRAGMA query_only=1")
                info[_QUERY_ONLY_KEY] = True
            conn.exec_driver_sql("BEGIN")
            return
        if info.get(_QUERY_ONLY_KEY):
            conn.exec_driver_sql("PRAGMA query_only=0")
            info[_QUERY_ONLY_KEY] = False
        gate.acquire(info)
        try:
            # IMMEDIATE takes the write lock up front: a writer never upgrades a read lock.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            gate.release(info)
            raise

    @event.listens_for(engine.sync_engine, "commit")
    @event.listens_for(engine.sync_engine, "rollback")
    def _sqlite_end(conn: Any) -> None:
        gate.release(conn.info)

    @event.listens_for(engine.sync_engine.pool, "checkin")
    @event.listens_for(engine.sync_engine.pool, "invalidate")
    def _sqlite_returned(_dbapi_conn: Any, record: Any, *_exc: Any) -> None:
        gate.release(record.info)


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    """An async engine with the pragmas fieldsync relies on; JSON columns go through msgspec."""
    json_args: dict[str, Any] = {"json_serializer": _json_encode, "json_deserializer": msgspec.json.decode}
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url, echo=echo, connect_args={"timeout": 30}, module=sqlite_driver.dbapi(), **json_args
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy emit BEGIN itself so SAVEPOINTs work (pysqlite's legacy mode
            # would otherwise defer BEGIN and break nested transactions).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
            # the FTS5 triggers index a message's text through this (CJK runs as bigrams)
            dbapi_conn.create_function("fieldsync_fts_text", 1, index_text, deterministic=True)

        _install_sqlite_transactions(engine)
        return engine
    target, pgbouncer = pgbouncer_mode(url)
    # Savepoint names and executemany widths make more distinct statements than the default 100.
    connect_args: dict[str, Any] = {"prepared_statement_cache_size": 1000}
    if pgbouncer:
        # PgBouncer in transaction mode hands each transaction whichever server connection is
        # free: a statement prepared (and cached) in one transaction is not there in the next, and
        # asyncpg's numbered names collide with another client's. No cache on either side, and a
        # unique name for each statement SQLAlchemy still prepares (its asyncpg dialect docs:
        # "Prepared Statement Name with PGBouncer").
        connect_args = {
            "prepared_statement_cache_size": 0,
            "statement_cache_size": 0,
            "prepared_statement_name_func": _unique_statement_name,
        }
    engine = create_async_engine(
        target,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args=connect_args,
        **json_args,
    )
    _ping_after_idle(engine)
    return engine


# A pooled connection idle this long is pinged before it is handed out (a restarted server or a
# proxy's idle timeout may have closed it). SQLAlchemy's ``pool_pre_ping`` pings at every
# checkout: on asyncpg a ``BEGIN`` and a ``ROLLBACK``, two round trips before each request's
# own statements, on connections a busy server used a moment ago.
PING_AFTER_IDLE_S = 5.0
_IDLE_SINCE = "fieldsync_idle_since"


def _ping_after_idle(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return
        try:
            dbapi_conn.ping()
        except Exception as exc:  # the pool discards it and connects again
            raise DisconnectionError("a pooled connection was closed while idle") from exc


def pgbouncer_mode(url: str) -> tuple[Any, bool]:
    """``(url less fieldsync's own ?pgbouncer=…, whether it is set)``: ``?pgbouncer=transaction``
    (or ``true``/``1``) on a PostgreSQL URL says the address is a PgBouncer in transaction mode."""
    parsed = make_url(url)
    value = parsed.query.get("pgbouncer")
    if value is None:
        return url, False
    if isinstance(value, tuple):
        value = value[-1]
    if value.lower() not in {"transaction", "true", "1", "false", "0"}:
        raise ValueError(f"?pgbouncer={value!r}: use ?pgbouncer=transaction (or leave it out)")
    return parsed.difference_update_query(["pgbouncer"]), value.lower() in {"transaction", "true", "1"}


def _unique_statement_name() -> str:
    return f"__fs_{uuid.uuid4().hex}__"


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


# PostgreSQL SQLSTATEs of a transaction that lost a race and may simply be run again.
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available


def is_transient_error(exc: BaseException) -> bool:
    """True for a database error that running the same transaction again may not meet:
    a deadlock or serialization failure on PostgreSQL, a busy/locked database on SQLite, or no
    pooled connection free in time (the server is overloaded)."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in _RETRYABLE_SQLSTATES:
        return True
    text = str(orig).lower()
    return "database is locked" in text or "database is busy" in text or "deadlock detected" in text


def is_postgres(session_or_engine: AsyncSession | AsyncEngine) -> bool:
    bind = session_or_engine.bind if isinstance(session_or_engine, AsyncSession) else session_or_engine
    return bind.dialect.name == "postgresql"


__all__ = [
    "READ_ONLY",
    "Base",
    "BigId",
    "IdStr",
    "JsonDoc",
    "UtcDateTime",
    "is_postgres",
    "is_transient_error",
    "make_engine",
    "make_session_factory",
    "new_id",
    "read_only",
    "utcnow",
    "writers_waiting",
]
