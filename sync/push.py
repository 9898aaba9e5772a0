"""Push: apply a phone's outbox batch exactly once, in ``seq`` order, each mutation isolated.

Isolation: one savepoint for the batch, and a savepoint per mutation only when a mutation
failed after writing (:mod:`sync.push_guard`).

The caller admits a batch once (:func:`admit_batch`: limits and rate), then owns the transaction
and commits after :func:`apply_admitted_batch` returns; results are
stored in the same transaction as the effects they describe, so a crash between commit and
reply loses nothing and a retry gets the stored results back as ``duplicate``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import cache
from typing import Any

import msgspec
from sqlalchemy import ARRAY, BigInteger, String, any_, bindparam, event, func, select, text, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from backend.batchcache import close_batch_cache, open_batch_cache, reset_batch_cache
from backend.changefeed.recording import (
    buffer_changes,
    discard_buffered,
    write_buffered,
)
from backend.config import Settings
from backend.db import is_postgres, is_transient_error, utcnow
from backend.errors import DomainError
from backend.identity import Actor
from backend.planmode import forget_plan_mode, plan_every_run_column, planned_every_run
from backend.rowwrites import RowWrite, sqlite_utc_text
from backend.setreads import SetRace, among_named, list_value
from backend.syncstate import SyncClient, SyncMutation
from sync import protocol as p
from sync.batch import BatchRun, apply_in_sets
from sync.batch.apply import STATS as SET_STATS
from sync.errors import BatchTooLarge
from sync.mutations import REGISTRY, MutationContext
from sync.mutations.registry import Mutation
from sync.push_guard import Replay, WriteGuard, lock_in_order
from sync.push_identity import SEQ_GAP, settle
from sync.push_identity import rejected as _rejected
from sync.ratelimit import check_push_rate

log = logging.getLogger("fieldsync.sync")

# Set in ``session.info`` of a session that carried a push (the crash test hooks its commit).
PUSH_MARK_KEY = "fieldsync_sync_push"
_KEEP_KEY = "fieldsync_push_loaded"
# Set in ``session.info`` to apply every mutation by its one-by-one handler (no set handlers):
# the reference the set path is tested against.
ONE_BY_ONE_KEY = "fieldsync_push_one_by_one"
# Runs of a batch as sets: a second after a set lost a race for a first row (a location, a level,
# an order id) to a concurrent push, before the batch goes one by one.
SET_ATTEMPTS = 2


def check_envelope(request: p.PushRequest, settings: Settings) -> None:
    p.check_protocol(request.protocol, settings.sync_min_protocol)
    if len(request.mutations) > settings.sync_max_batch:
        raise BatchTooLarge(
            f"a push may carry at most {settings.sync_max_batch} mutations; split the batch",
            details={"max_batch": settings.sync_max_batch, "received": len(request.mutations)},
        )


async def admit_batch(actor: Actor, settings: Settings, request: p.PushRequest) -> None:
    """Refuse an envelope over the limits, and count the batch against the device's rate, once."""
    check_envelope(request, settings)
    await check_push_rate(actor, request.client_id, len(request.mutations), settings)


async def apply_admitted_batch(
    session: AsyncSession, actor: Actor, settings: Settings, request: p.PushRequest
) -> p.PushResponse:
    """Apply an admitted batch for ``actor``; every mutation gets exactly one result. Safe to run
    again after a rollback: nothing is counted twice."""
    session.info[PUSH_MARK_KEY] = True
    try:
        return await _apply_locked(session, actor, settings, request)
    finally:
        forget_plan_mode(session)  # the setting ends with the transaction


async def _apply_locked(
    session: AsyncSession, actor: Actor, settings: Settings, request: p.PushRequest
) -> p.PushResponse:
    known_seq = await _lock_client(session, actor.user_id, request.client_id)
    ordered = sorted(request.mutations, key=lambda m: m.seq)
    by_id, by_seq = await _stored_results(session, actor.user_id, request.client_id, ordered, known_seq)
    sync_session = session.sync_session
    # For the batch: rows read stay in the identity map (``session.get`` of the same terminal or
    # product is not asked again), and the change feed is written once, at the end.
    sync_session.info[_KEEP_KEY] = []
    open_batch_cache(session)
    buffer_changes(session)
    try:
        await lock_in_order(session, _lock_names(ordered, known_seq, by_id, by_seq))
        results, fresh, last_seq, expected_seq = await _apply_batch(
            session, actor, settings, request.client_id, ordered, known_seq, by_id, by_seq
        )
        await write_buffered(session)
    finally:
        sync_session.info.pop(_KEEP_KEY, None)
        close_batch_cache(session)
        discard_buffered(session)  # a no-op once written
    await _store(session, actor.user_id, request.client_id, fresh, last_seq)
    return p.PushResponse(results=results, last_applied_seq=last_seq, expected_seq=expected_seq)


Outcome = tuple[list[p.MutationResult], list[dict[str, Any]], int, int | None]


async def _apply_batch(
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    client_id: str,
    ordered: list[p.MutationIn],
    last_seq: int,
    by_id: dict[str, dict[str, Any]],
    by_seq: dict[int, dict[str, Any]],
) -> Outcome:
    """Run the batch in one savepoint, mutations unguarded; if one fails after writing, roll it
    all back and run it again with a savepoint per mutation (see :mod:`sync.push_guard`). A set
    that lost a race for a first row is first run again as sets (:data:`SET_ATTEMPTS`)."""
    guard = WriteGuard()
    await guard.install(session)
    try:
        for attempt in range(1, SET_ATTEMPTS + 1):
            batch_savepoint = await session.begin_nested()
            try:
                if session.info.get(ONE_BY_ONE_KEY):
                    unguarded: Runner = lambda m: _run_unguarded(session, actor, settings, m, guard)  # noqa: E731
                    outcome = await _apply_in_order(
                        session,
                        actor,
                        settings,
                        client_id,
                        ordered,
                        last_seq,
                        dict(by_id),
                        dict(by_seq),
                        unguarded,
                    )
                else:
                    outcome = await _apply_as_sets(
                        session, actor, settings, client_id, ordered, last_seq, by_id, by_seq, guard
                    )
                await session.flush()
            except Replay as replay:
                await batch_savepoint.rollback()
                _forget_loaded(session)
                reset_batch_cache(session)
                if isinstance(replay.__cause__, SetRace) and attempt < SET_ATTEMPTS:
                    # The other transaction's first row is committed now (a unique violation waits
                    # for it): the sets, read again, see and use it.
                    SET_STATS["raced"] += 1
                    continue
                break
            else:
                await batch_savepoint.commit()
                return outcome
    finally:
        guard.remove()
    guarded: Runner = lambda m: _run_one(session, actor, settings, m)  # noqa: E731
    outcome = await _apply_in_order(
        session, actor, settings, client_id, ordered, last_seq, by_id, by_seq, guarded
    )
    await session.flush()
    return outcome


Runner = Callable[[p.MutationIn], Awaitable[p.MutationResult]]


def _forget_loaded(session: AsyncSession) -> None:
    """After the batch's savepoint rolled back, forget every row the first run loaded or made:
    SQLAlchemy can keep an object the rolled-back run created in the identity map, and a replayed
    ``create`` would find it and insert nothing. (The client's row is read with Core, never
    loaded.)"""
    sync = session.sync_session
    for obj in list(sync.identity_map.values()):
        sync.expunge(obj)


async def _apply_as_sets(
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    client_id: str,
    ordered: list[p.MutationIn],
    last_seq: int,
    by_id: dict[str, dict[str, Any]],
    by_seq: dict[int, dict[str, Any]],
    guard: WriteGuard,
) -> Outcome:
    """The bookkeeping runs twice: first only to learn which mutations run (their handlers do not),
    then, once :func:`sync.batch.apply_in_sets` has applied those as sets, to answer and store."""
    to_run: list[p.MutationIn] = []

    async def note(m: p.MutationIn) -> p.MutationResult:
        to_run.append(m)
        return p.MutationResult(id=m.id, seq=m.seq, status=p.APPLIED)

    await _apply_in_order(
        session, actor, settings, client_id, ordered, last_seq, dict(by_id), dict(by_seq), note
    )
    run = BatchRun(
        session,
        actor,
        settings,
        prepare=lambda m: _prepare(session, actor, settings, m),
        single=lambda m: _run_unguarded(session, actor, settings, m, guard),
        applied=lambda m, data: p.MutationResult(id=m.id, seq=m.seq, status=p.APPLIED, data=data),
        refused=_refused,
    )
    done = await apply_in_sets(run, to_run)

    async def answer(m: p.MutationIn) -> p.MutationResult:
        result = done.pop(id(m), None)
        if result is None:
            raise Replay(f"mutation {m.seq} was not planned")  # cannot happen; the safe way out
        return result

    return await _apply_in_order(
        session, actor, settings, client_id, ordered, last_seq, dict(by_id), dict(by_seq), answer
    )


async def _apply_in_order(
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    client_id: str,
    ordered: list[p.MutationIn],
    last_seq: int,
    by_id: dict[str, dict[str, Any]],
    by_seq: dict[int, dict[str, Any]],
    run: Runner,
) -> Outcome:
    """(results, rows to store, the new last seq, the expected seq after a gap); ``run`` gives the
    result of each mutation that is neither a duplicate nor past a gap."""
    results: list[p.MutationResult] = []
    fresh: list[dict[str, Any]] = []
    expected_seq: int | None = None
    now = utcnow()  # one instant for the batch's stored results
    for m in ordered:
        settled = settle(m, last_seq, by_id, by_seq)  # the identity rule: sync/push_identity.py
        if settled is not None:
            results.append(settled.result)
            if settled.result.code == SEQ_GAP:
                expected_seq = last_seq + 1
            elif settled.acknowledged:
                row = _stored_row(actor.user_id, client_id, m, settled.result, now, named=False)
                fresh.append(row)
                by_seq[m.seq] = row
                last_seq = m.seq
            continue
        result = await run(m)
        row = _stored_row(actor.user_id, client_id, m, result, now)
        fresh.append(row)
        by_id[m.id] = by_seq[m.seq] = row
        last_seq = m.seq
        results.append(result)
    return results, fresh, last_seq, expected_seq


def _keep_loaded(session: Session, instance: object) -> None:
    keep = session.info.get(_KEEP_KEY)
    if keep is not None:
        keep.append(instance)


if not event.contains(Session, "loaded_as_persistent", _keep_loaded):
    event.listen(Session, "loaded_as_persistent", _keep_loaded)


async def _lock_client(session: AsyncSession, user_id: str, client_id: str) -> int:
    """Lock the client's row (made on its first push) and return its ``last_seq``: concurrent
    pushes from one phone apply one after the other. On PostgreSQL the same statement makes the
    rest of the transaction plan every run (the set reads look keys up in tables that grow:
    :mod:`backend.planmode`). Core on the connection: the row is only read for its
    seq, and moved by :func:`_store`."""
    where = {"user_id": user_id, "client_id": client_id}
    conn = await session.connection()
    pg = is_postgres(session)
    lock = _PG_CLIENT_FOR_UPDATE if pg else _CLIENT_FOR_UPDATE
    last_seq = (await conn.execute(lock, where)).scalar_one_or_none()
    if last_seq is None:
        now = utcnow()
        insert_stmt = _insert_ignore(session, SyncClient.__table__).values(
            user_id=user_id, client_id=client_id, last_seq=0, created_at=now, updated_at=now
        )
        await conn.execute(insert_stmt)
        last_seq = (await conn.execute(lock, where)).scalar_one()
    if pg:
        planned_every_run(session)  # the lock returned its row: the setting holds from here
    return int(last_seq)


# Built once: every push asks it, and building the statement cost more than running it.
_CLIENTS = SyncClient.__table__.c
_MINE = (_CLIENTS.user_id == bindparam("user_id"), _CLIENTS.client_id == bindparam("client_id"))
_CLIENT_FOR_UPDATE = select(_CLIENTS.last_seq).where(*_MINE).with_for_update()
_PG_CLIENT_FOR_UPDATE = select(_CLIENTS.last_seq, plan_every_run_column()).where(*_MINE).with_for_update()


def _insert_ignore(session: AsyncSession, table: Any) -> Any:
    if is_postgres(session):
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


async def _stored_results(
    session: AsyncSession, user_id: str, client_id: str, batch: list[p.MutationIn], last_seq: int
) -> tuple[dict[str, dict[str, Any]], dict[int, dict[str, Any]]]:
    """Results already stored for the batch's ids or seqs (one query), by id and by seq.

    Only seqs up to the client's ``last_seq`` can have one (a result is stored with the seq it
    acknowledges), so only those are asked for: a push of new mutations asks by id alone."""
    if not batch:
        return {}, {}
    pg = is_postgres(session)
    params = {
        "user_id": user_id,
        "client_id": client_id,
        "ids": list_value([m.id for m in batch], pg),
        "seqs": list_value([m.seq for m in batch if m.seq <= last_seq], pg),
    }
    rows = await (await session.connection()).execute(_stored_results_query(pg), params)
    found = [dict(r._mapping) for r in rows]
    return {r["mutation_id"]: r for r in found}, {r["seq"]: r for r in found}


@cache
def _stored_results_query(pg: bool) -> Any:
    """By id, then by seq, each arm on its own unique index (an ``OR`` of the two lets an unanalysed
    PostgreSQL table scan every row the client ever pushed). The lists are two parameters, arrays
    on PostgreSQL and JSON lists on SQLite: one statement shape for any batch, not a bind per value.

    On PostgreSQL the plan must not depend on how many rows the outbox holds or on statistics:
    each id is one probe of the unique key it leads, in a ``LATERAL`` subquery that ``OFFSET 0``
    keeps whole and that names the id alone (given the user and client too, a plan made without
    statistics took the seq index and filtered the phone's history once per id). A flat
    ``mutation_id = ANY(ids)`` on an outbox not yet analysed is taken to match 0.5% of the rows
    per id, half of them for 100 ids, and scanned (7–10 ms per push at 4,000 results); before
    migration 0013, it walked a busy phone's history. (A probe per id planned on a small table
    is a scan per id; a push plans each run, so that plan is not kept:
    :func:`_lock_client`.)
    The seq arm runs only when it has seqs (a one-time filter: nothing is scanned for an empty
    list)."""
    columns = (
        SyncMutation.mutation_id,
        SyncMutation.seq,
        SyncMutation.status,
        SyncMutation.code,
        SyncMutation.message,
        SyncMutation.data,
    )
    mine = (SyncMutation.user_id == bindparam("user_id"), SyncMutation.client_id == bindparam("client_id"))
    if not pg:
        by_id = among_named(SyncMutation.mutation_id, "ids", pg)
        by_seq = among_named(SyncMutation.seq, "seqs", pg, item=BigInteger)
        return union_all(select(*columns).where(*mine, by_id), select(*columns).where(*mine, by_seq))
    ids = (
        func.unnest(bindparam("ids", type_=ARRAY(String)))
        .table_valued("mutation_id")
        .render_derived(name="ids")
    )
    by_id = SyncMutation.mutation_id == ids.c.mutation_id
    found = (
        select(*columns, SyncMutation.user_id, SyncMutation.client_id).where(by_id).offset(0).lateral("found")
    )
    ids_arm = (
        select(*(found.c[c.key] for c in columns))
        .select_from(ids)
        .join(found, true())
        .where(found.c.user_id == bindparam("user_id"), found.c.client_id == bindparam("client_id"))
    )
    seqs = bindparam("seqs", type_=ARRAY(BigInteger))
    seqs_arm = select(*columns).where(*mine, SyncMutation.seq == any_(seqs), func.cardinality(seqs) > 0)
    return union_all(ids_arm, seqs_arm)


def _lock_names(
    ordered: list[p.MutationIn],
    last_seq: int,
    by_id: dict[str, dict[str, Any]],
    by_seq: dict[int, dict[str, Any]],
) -> list[str]:
    """What the batch's new mutations will lock, as their specs name it."""
    names = []
    for m in ordered:
        spec = REGISTRY.get(m.name)
        if spec is None or spec.lock_key is None or m.seq <= last_seq or m.id in by_id or m.seq in by_seq:
            continue
        if (name := spec.lock_key(m.args)) is not None:
            names.append(name)
    return names


def _prepare(
    session: AsyncSession, actor: Actor, settings: Settings, m: p.MutationIn
) -> tuple[Mutation, Any, MutationContext] | p.MutationResult:
    """The mutation's handler, arguments and context, or its rejection (unknown, invalid)."""
    spec = REGISTRY.get(m.name)
    if spec is None:
        return _rejected(m, "unknown_mutation", f"there is no mutation named {m.name!r}")
    try:
        args = msgspec.convert({} if m.args is None else m.args, spec.args)
    except msgspec.ValidationError as exc:
        return _rejected(m, "invalid", f"{m.name}: {exc}")
    return spec, args, MutationContext(session, actor, settings, m.id, m.client_time)


def _refused(m: p.MutationIn, exc: DomainError) -> p.MutationResult:
    if exc.kind == "conflict":
        # Every policy keeps the server's state; the phone gets it to reconcile its view.
        conflict = {"server": exc.details, "kept": "server"}
        return p.MutationResult(
            id=m.id, seq=m.seq, status=p.CONFLICT, code=exc.code, message=exc.message, data=conflict
        )
    return _rejected(m, exc.code, exc.message, exc.details)


async def _run_unguarded(
    session: AsyncSession, actor: Actor, settings: Settings, m: p.MutationIn, guard: WriteGuard
) -> p.MutationResult:
    """Run a mutation without a savepoint; :class:`Replay` if it failed after writing anything."""
    prepared = _prepare(session, actor, settings, m)
    if isinstance(prepared, p.MutationResult):
        return prepared
    spec, args, ctx = prepared
    mark = guard.mark(session)
    try:
        data = await spec.handler(ctx, args)
        await session.flush()
    except DomainError as exc:
        if not guard.untouched_since(session, mark):
            raise Replay from exc
        return _refused(m, exc)
    except Exception as exc:
        if is_transient_error(exc):
            raise  # a lost race (deadlock, busy database): the whole batch is retried
        raise Replay from exc  # the guarded run logs it and acknowledges it as internal_error
    return p.MutationResult(id=m.id, seq=m.seq, status=p.APPLIED, data=data)


async def _run_one(
    session: AsyncSession, actor: Actor, settings: Settings, m: p.MutationIn
) -> p.MutationResult:
    """Run a mutation in its own savepoint: whatever it did is undone if it fails."""
    prepared = _prepare(session, actor, settings, m)
    if isinstance(prepared, p.MutationResult):
        return prepared
    spec, args, ctx = prepared
    savepoint = await session.begin_nested()
    try:
        data = await spec.handler(ctx, args)
        await session.flush()
    except DomainError as exc:
        await savepoint.rollback()
        return _refused(m, exc)
    except Exception as exc:
        if is_transient_error(exc):
            raise  # a lost race (deadlock, busy database): the whole batch is retried, nothing acknowledged
        # A bug in one handler must not fail the batch or wedge the outbox: acknowledge it.
        log.exception("mutation %s (%s) failed", m.name, m.id)
        await savepoint.rollback()
        return _rejected(m, "internal_error", "the server could not apply this mutation; it was logged")
    await savepoint.commit()
    return p.MutationResult(id=m.id, seq=m.seq, status=p.APPLIED, data=data)


# The stored results; ``tx`` is the pushing transaction's id, one expression for every row.
_STORED = RowWrite(
    SyncMutation.__table__,
    (
        "user_id",
        "client_id",
        "mutation_id",
        "seq",
        "name",
        "status",
        "code",
        "message",
        "data",
        "applied_at",
    ),
    expressions=(("tx", "(pg_current_xact_id()::text)::bigint", "0"),),
)
_CLIENT_UPDATE = (
    "UPDATE sync_clients SET last_seq = :last_seq, updated_at = :updated_at "
    "WHERE user_id = :user_id AND client_id = :client_id"
)
# PostgreSQL: the results and the client's new position in one statement.
_PG_STORE = text(f"WITH stored AS ({_STORED.pg_insert('s')}) {_CLIENT_UPDATE}")
_SQLITE_CLIENT_UPDATE = text(_CLIENT_UPDATE)


async def _store(
    session: AsyncSession, user_id: str, client_id: str, fresh: list[dict[str, Any]], last_seq: int
) -> None:
    """Store the batch's results and move the client's ``last_seq`` (its row is locked)."""
    now = utcnow()
    where = {"user_id": user_id, "client_id": client_id}
    if is_postgres(session):
        conn = await session.connection()
        params = _STORED.pg_params(conn.dialect, "s", fresh)
        await conn.execute(_PG_STORE, {**params, **where, "last_seq": last_seq, "updated_at": now})
    else:
        await _STORED.execute(session, fresh)
        await session.execute(
            _SQLITE_CLIENT_UPDATE, {**where, "last_seq": last_seq, "updated_at": sqlite_utc_text(now)}
        )


def _stored_row(
    user_id: str,
    client_id: str,
    m: p.MutationIn,
    result: p.MutationResult,
    at: datetime,
    *,
    named: bool = True,
) -> dict[str, Any]:
    """The stored result; not ``named`` for a seq acknowledged by an ``id_reused`` rejection (the
    id already names its first mutation)."""
    return {
        "user_id": user_id,
        "client_id": client_id,
        "mutation_id": m.id if named else None,
        "seq": m.seq,
        "name": m.name[:64],
        "status": result.status,
        "code": result.code,
        "message": (result.message or "")[:500] or None,
        "data": msgspec.to_builtins(result.data) if result.data is not None else None,
        "applied_at": at,
    }
