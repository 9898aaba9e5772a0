"""Delivering the push outbox: claim, send through the gateway, settle.

One round (:func:`deliver_once`) runs three short transactions around the network call:

1. **claim** up to ``batch_size`` due ``pending`` rows (and ``sending`` rows whose lease ran
   out — a worker died mid-send) with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite
   serialises writers with ``BEGIN IMMEDIATE``), mark them ``sending`` under this worker's
   name and a lease, commit. Two workers never hold the same row.
2. **send** to every active device token of each row's user, in gateway batches of ≤ 500,
   outside any transaction. Chat pushes to users who meanwhile opened a socket are dropped;
   "sync" rows collapse per user inside a round.
3. **settle**: ``sent`` rows are done; tokens FCM calls unregistered or invalid are
   deactivated; transient failures go back to ``pending`` for just the failed tokens with
   exponential backoff (honouring ``Retry-After``) until ``max_attempts``.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from backend.db import is_postgres, utcnow
from backend.identity import Device
from backend.messaging import presence
from backend.notifications.gateway import FCM_MAX_BATCH, PushGateway, PushMessage, PushOutcome
from backend.notifications.models import DROPPED, FAILED, PENDING, SENDING, SENT, PushOutbox

LEASE_S = 120
BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 3600.0


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    dropped: int = 0
    deactivated_tokens: int = 0
    messages: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, other: DeliveryReport) -> None:
        """Accumulate ``other`` into this report."""
        for name in ("claimed", "sent", "retried", "failed", "dropped", "deactivated_tokens", "messages"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for status, n in other.outcomes.items():
            self.outcomes[status] = self.outcomes.get(status, 0) + n


def backoff_s(attempts: int, retry_after_s: float | None = None) -> float:
    """Exponential backoff with jitter; never sooner than FCM's ``Retry-After``."""
    delay = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1)) * random.uniform(0.8, 1.2)
    return max(delay, retry_after_s or 0.0)


async def claim(
    session: AsyncSession, *, worker_id: str, limit: int, now: datetime, lease_s: float = LEASE_S
) -> list[PushOutbox]:
    """Claim due rows for ``worker_id`` (the caller commits right after)."""
    stmt = (
        select(PushOutbox)
        .where(
            or_(
                (PushOutbox.status == PENDING) & (PushOutbox.available_at <= now),
                (PushOutbox.status == SENDING) & (PushOutbox.lease_until < now),
            )
        )
        .order_by(PushOutbox.available_at, PushOutbox.id)
        .limit(limit)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list((await session.execute(stmt)).scalars())
    if not rows:
        return rows
    lease_until = now + timedelta(seconds=lease_s)
    # One UPDATE for the whole claim (a flush would send one UPDATE per row: attempts differ).
    await session.execute(
        update(PushOutbox)
        .where(PushOutbox.id.in_([r.id for r in rows]))
        .values(
            status=SENDING, claimed_by=worker_id, lease_until=lease_until, attempts=PushOutbox.attempts + 1
        )
        .execution_options(synchronize_session=False)
    )
    for row in rows:  # the loaded objects mirror the row as committed, nothing left to flush
        for name, value in (
            ("status", SENDING),
            ("claimed_by", worker_id),
            ("lease_until", lease_until),
            ("attempts", row.attempts + 1),
        ):
            set_committed_value(row, name, value)
    return rows


async def _tokens_by_user(session: AsyncSession, user_ids: set[str]) -> dict[str, list[str]]:
    rows = await session.execute(
        select(Device.user_id, Device.push_token).where(
            Device.user_id.in_(user_ids),
            Device.push_token.is_not(None),
            Device.push_token_active.is_(True),
            Device.revoked_at.is_(None),
        )
    )
    tokens: dict[str, list[str]] = defaultdict(list)
    for user_id, token in rows.tuples():
        if token:
            tokens[user_id].append(token)
    return tokens


def _message(row: PushOutbox, token: str) -> PushMessage:
    return PushMessage(
        token=token,
        kind=row.kind,  # type: ignore[arg-type]
        title=row.title,
        body=row.body,
        data={**row.data, "push_id": str(row.id)},
        collapse_key=row.collapse_key,
    )


async def deliver_once(
    session_factory: async_sessionmaker[AsyncSession],
    gateway: PushGateway,
    *,
    worker_id: str,
    batch_size: int = FCM_MAX_BATCH,
    max_attempts: int = 8,
    now: datetime | None = None,
    lease_s: float = LEASE_S,
) -> DeliveryReport:
    """Claim, send and settle one batch of due outbox rows (held for ``lease_s`` meanwhile)."""
    report = DeliveryReport()
    now = now or utcnow()
    batch_size = max(1, min(batch_size, FCM_MAX_BATCH))
    async with session_factory() as session, session.begin():
        rows = await claim(session, worker_id=worker_id, limit=batch_size, now=now, lease_s=lease_s)
        if not rows:
            return report
        report.claimed = len(rows)
        user_ids = {r.user_id for r in rows}
        tokens = await _tokens_by_user(session, user_ids)
        online = await presence.online_users(session, {r.user_id for r in rows if r.kind == "chat"})
    plan: dict[int, list[str]] = {}
    skip: dict[int, str] = {}
    seen_sync: set[str] = set()
    for row in rows:
        wanted = tokens.get(row.user_id, [])
        if row.tokens is not None:
            wanted = [t for t in wanted if t in row.tokens]
        if row.kind == "chat" and row.user_id in online:
            skip[row.id] = "recipient is connected"
        elif row.kind == "sync" and row.user_id in seen_sync:
            skip[row.id] = "collapsed into another sync push"
        elif not wanted:
            skip[row.id] = "no active device token"
        else:
            plan[row.id] = wanted
            if row.kind == "sync":
                seen_sync.add(row.user_id)
    by_id = {r.id: r for r in rows}
    messages = [(row_id, _message(by_id[row_id], t)) for row_id, ts in plan.items() for t in ts]
    outcomes: list[PushOutcome] = []
    for start in range(0, len(messages), FCM_MAX_BATCH):
        chunk = [m for _, m in messages[start : start + FCM_MAX_BATCH]]
        outcomes.extend(await asyncio.to_thread(gateway.send_batch, chunk))
    report.messages = len(messages)
    await _settle(session_factory, by_id, messages, outcomes, skip, worker_id, max_attempts, report)
    return report


async def deliver_rounds(
    session_factory: async_sessionmaker[AsyncSession],
    gateway: PushGateway,
    *,
    worker_id: str,
    batch_size: int = FCM_MAX_BATCH,
    max_attempts: int = 8,
    max_rounds: int = 20,
    in_flight: int = 2,
    lease_s: float = LEASE_S,
) -> DeliveryReport:
    """Drain the outbox: up to ``max_rounds`` rounds of :func:`deliver_once`, ``in_flight`` at once.

    With two in flight one round claims or settles (database) while the other is sending (the
    gateway's threads), and the sends themselves overlap their network waits. Rounds stop once one
    claims less than a full batch. The claims never overlap (``SKIP LOCKED`` / ``BEGIN IMMEDIATE``)
    and each round settles only the rows it claimed, so concurrent rounds never send a row twice.
    """
    total = DeliveryReport()
    rounds_left = max_rounds
    drained = False

    async def loop() -> None:
        nonlocal rounds_left, drained
        while rounds_left > 0 and not drained:
            rounds_left -= 1
            report = await deliver_once(
                session_factory,
                gateway,
                worker_id=worker_id,
                batch_size=batch_size,
                max_attempts=max_attempts,
                lease_s=lease_s,
            )
            total.add(report)
            if report.claimed < batch_size:
                drained = True

    await asyncio.gather(*(loop() for _ in range(max(1, in_flight))))
    return total


async def _settle(
    session_factory: async_sessionmaker[AsyncSession],
    by_id: dict[int, PushOutbox],
    messages: list[tuple[int, PushMessage]],
    outcomes: list[PushOutcome],
    skip: dict[int, str],
    worker_id: str,
    max_attempts: int,
    report: DeliveryReport,
) -> None:
    retry_tokens: dict[int, list[str]] = defaultdict(list)
    retry_after: dict[int, float] = {}
    dead_tokens: set[str] = set()
    errors: dict[int, str] = {}
    sent_any: set[int] = set()
    for (row_id, msg), outcome in zip(messages, outcomes, strict=True):
        report.outcomes[outcome.status] = report.outcomes.get(outcome.status, 0) + 1
        if outcome.status == "sent":
            sent_any.add(row_id)
        elif outcome.status in ("unregistered", "invalid"):
            dead_tokens.add(msg.token)
            errors[row_id] = outcome.error or outcome.status
        elif outcome.status == "retry":
            retry_tokens[row_id].append(msg.token)
            retry_after[row_id] = max(retry_after.get(row_id, 0.0), outcome.retry_after_s or 0.0)
            errors[row_id] = outcome.error or "retry"
        else:
            errors[row_id] = outcome.error or "failed"
    now = utcnow()
    final: dict[tuple[str, str | None], list[int]] = defaultdict(list)  # (status, error) -> ids
    retries: list[tuple[int, dict[str, object]]] = []
    for row_id, row in by_id.items():
        if row_id in skip:
            final[(DROPPED, skip[row_id])].append(row_id)
            report.dropped += 1
        elif row_id in retry_tokens and row.attempts < max_attempts:
            delay = backoff_s(row.attempts, retry_after[row_id])
            retries.append(
                (
                    row_id,
                    {
                        "status": PENDING,
                        "tokens": retry_tokens[row_id],
                        "available_at": now + timedelta(seconds=delay),
                        "last_error": errors.get(row_id),
                    },
                )
            )
            report.retried += 1
        elif row_id in sent_any and row_id not in retry_tokens:
            final[(SENT, errors.get(row_id))].append(row_id)
            report.sent += 1
        else:
            final[(FAILED, errors.get(row_id) or "failed")].append(row_id)
            report.failed += 1
    # Only settle rows this worker still holds (its lease may have been taken over).
    held = (PushOutbox.claimed_by == worker_id) & (PushOutbox.status == SENDING)
    async with session_factory() as session, session.begin():
        for (status, error), ids in final.items():
            values: dict[str, object] = {"status": status, "lease_until": None, "last_error": error}
            if status == SENT:
                values["sent_at"] = now
            await session.execute(update(PushOutbox).where(PushOutbox.id.in_(ids), held).values(**values))
        for row_id, values in retries:
            await session.execute(
                update(PushOutbox).where(PushOutbox.id == row_id, held).values(lease_until=None, **values)
            )
        if dead_tokens:
            result = await session.execute(
                update(Device)
                .where(Device.push_token.in_(dead_tokens), Device.push_token_active.is_(True))
                .values(push_token_active=False)
            )
            report.deactivated_tokens = result.rowcount or 0
