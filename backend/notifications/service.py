"""Writing pushes to the outbox (in the caller's transaction) and per-user preferences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import is_postgres, utcnow
from backend.errors import InvalidInput
from backend.notifications.gateway import PushKind
from backend.notifications.models import PENDING, PushOutbox, PushPreference
from backend.setreads import among

KINDS: tuple[PushKind, ...] = ("chat", "sync", "alert")
MINUTES_PER_DAY = 24 * 60
_LOOKUP = object()


class InvalidPreference(InvalidInput):
    code = "invalid_push_preference"


async def get_preferences(session: AsyncSession, user_id: str) -> PushPreference:
    """The user's preferences (defaults when they never set any; not added to the session)."""
    pref = await session.get(PushPreference, user_id)
    return pref or PushPreference(user_id=user_id, chat_enabled=True, timezone="UTC")


async def set_preferences(
    session: AsyncSession,
    user_id: str,
    *,
    chat_enabled: bool | None = None,
    quiet_start_min: int | None = None,
    quiet_end_min: int | None = None,
    timezone: str | None = None,
    clear_quiet_hours: bool = False,
) -> PushPreference:
    """Update the user's preferences; quiet hours are minutes after local midnight."""
    for value in (quiet_start_min, quiet_end_min):
        if value is not None and not 0 <= value < MINUTES_PER_DAY:
            raise InvalidPreference("quiet hours are minutes after midnight, 0..1439")
    if (quiet_start_min is None) != (quiet_end_min is None):
        raise InvalidPreference("give both quiet_start_min and quiet_end_min")
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidPreference(f"unknown time zone {timezone!r}") from None
    pref = await session.get(PushPreference, user_id)
    if pref is None:
        pref = PushPreference(user_id=user_id, chat_enabled=True, timezone="UTC")
        session.add(pref)
    if chat_enabled is not None:
        pref.chat_enabled = chat_enabled
    if clear_quiet_hours:
        pref.quiet_start_min = pref.quiet_end_min = None
    elif quiet_start_min is not None:
        pref.quiet_start_min, pref.quiet_end_min = quiet_start_min, quiet_end_min
    if timezone is not None:
        pref.timezone = timezone
    pref.updated_at = utcnow()
    await session.flush()
    return pref


def quiet_until(pref: PushPreference, now: datetime) -> datetime | None:
    """When the user's quiet hours end, if ``now`` falls inside them; else ``None``."""
    start, end = pref.quiet_start_min, pref.quiet_end_min
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(ZoneInfo(pref.timezone or "UTC"))
    minute = local.hour * 60 + local.minute
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    if not inside:
        return None
    days_ahead = 0 if minute < end else 1
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight + timedelta(days=days_ahead, minutes=end)).astimezone(now.tzinfo)


@dataclass(frozen=True, slots=True)
class Owed:
    """A push owed to ``user_id`` (see :func:`enqueue`); ``preference`` is the user's chat
    preferences when the caller already has them (``None``: they never set any)."""

    user_id: str
    kind: PushKind
    title: str | None = None
    body: str | None = None
    data: dict[str, Any] | None = None
    collapse_key: str | None = None
    preference: PushPreference | None | object = _LOOKUP


async def enqueue(
    session: AsyncSession,
    *,
    user_id: str,
    kind: PushKind,
    title: str | None = None,
    body: str | None = None,
    data: dict[str, Any] | None = None,
    collapse_key: str | None = None,
    now: datetime | None = None,
    preference: PushPreference | None | object = _LOOKUP,
) -> PushOutbox | None:
    """Owe ``user_id`` a push, in the caller's transaction.

    A pending row with the same ``collapse_key`` for the user is updated instead of adding a
    second one (a burst of "sync now" tickles, or of chat lines, is one push). Chat pushes
    respect the user's preferences: none when chat pushes are off, delayed to the end of
    quiet hours. Returns the outbox row, or ``None`` when nothing is owed.
    """
    owed = Owed(user_id, kind, title, body, data, collapse_key, preference)
    return (await enqueue_many(session, [owed], now=now))[0]


async def enqueue_many(
    session: AsyncSession, owed: Sequence[Owed], *, now: datetime | None = None
) -> list[PushOutbox | None]:
    """What :func:`enqueue` gives for each of ``owed`` in turn (a later one collapses into the
    row an earlier one made), in at most two queries whatever their number: the preferences not
    given, and the pending rows they may collapse into."""
    for o in owed:
        if o.kind not in KINDS:
            raise InvalidInput(f"push kind must be one of {', '.join(KINDS)}", code="invalid_push_kind")
    now = now or utcnow()
    prefs = await _chat_preferences(session, owed)
    pending = await _pending_rows(session, owed)
    rows: list[PushOutbox | None] = []
    for o in owed:
        available_at = now
        if o.kind == "chat":
            pref = prefs[o.user_id] if o.preference is _LOOKUP else o.preference
            pref = pref or PushPreference(user_id=o.user_id, chat_enabled=True, timezone="UTC")
            assert isinstance(pref, PushPreference)
            if not pref.chat_enabled:
                rows.append(None)
                continue
            available_at = quiet_until(pref, now) or now
        payload = {str(k): str(v) for k, v in (o.data or {}).items()}
        key = (o.user_id, o.collapse_key) if o.collapse_key is not None else None
        row = pending.get(key) if key is not None else None
        if row is not None:
            row.kind, row.title, row.body = o.kind, o.title, o.body
            row.data = {**payload, "count": str(int(row.data.get("count", "1")) + 1)}
            row.available_at = max(row.available_at, available_at)
        else:
            row = PushOutbox(
                user_id=o.user_id,
                kind=o.kind,
                title=o.title,
                body=o.body,
                data=payload,
                collapse_key=o.collapse_key,
                status=PENDING,
                created_at=now,
                available_at=available_at,
            )
            session.add(row)
            if key is not None:
                pending[key] = row
        rows.append(row)
    return rows


async def _chat_preferences(session: AsyncSession, owed: Sequence[Owed]) -> dict[str, PushPreference | None]:
    """The stored preferences of the users owed a chat push whose caller did not give them."""
    wanted = {o.user_id for o in owed if o.kind == "chat" and o.preference is _LOOKUP}
    if not wanted:
        return {}
    query = select(PushPreference).where(among(PushPreference.user_id, wanted, is_postgres(session)))
    found = await session.execute(query)
    return {user_id: None for user_id in wanted} | {p.user_id: p for p in found.scalars()}


async def _pending_rows(session: AsyncSession, owed: Sequence[Owed]) -> dict[tuple[str, str], PushOutbox]:
    """The pending row each (user, collapse key) of ``owed`` collapses into (the oldest, if a race
    left two)."""
    keys = {(o.user_id, o.collapse_key) for o in owed if o.collapse_key is not None}
    if not keys:
        return {}
    pg = is_postgres(session)
    found = await session.execute(
        select(PushOutbox)
        .where(
            among(PushOutbox.user_id, {u for u, _k in keys}, pg),
            among(PushOutbox.collapse_key, {k for _u, k in keys}, pg),
            PushOutbox.status == PENDING,
        )
        .order_by(PushOutbox.id)
    )
    rows: dict[tuple[str, str], PushOutbox] = {}
    for row in found.scalars():
        if (row.user_id, row.collapse_key) in keys:
            rows.setdefault((row.user_id, row.collapse_key), row)
    return rows


async def request_sync(session: AsyncSession, user_ids: set[str] | list[str]) -> None:
    """Owe each user a data-only "sync now" push; pending ones collapse into one per user."""
    owed = [Owed(user_id, "sync", collapse_key="sync") for user_id in sorted(set(user_ids))]
    await enqueue_many(session, owed)
