"""Writing pushes to the outbox (in the caller's transaction) and per-user preferences."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.errors import InvalidInput
from backend.notifications.gateway import PushKind
from backend.notifications.models import PENDING, PushOutbox, PushPreference

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
    if kind not in KINDS:
        raise InvalidInput(f"push kind must be one of {', '.join(KINDS)}", code="invalid_push_kind")
    now = now or utcnow()
    available_at = now
    if kind == "chat":
        if preference is _LOOKUP:
            pref = await get_preferences(session, user_id)
        else:
            pref = preference or PushPreference(user_id=user_id, chat_enabled=True, timezone="UTC")
        assert isinstance(pref, PushPreference)
        if not pref.chat_enabled:
            return None
        available_at = quiet_until(pref, now) or now
    payload = {str(k): str(v) for k, v in (data or {}).items()}
    if collapse_key is not None:
        row = (
            await session.execute(
                select(PushOutbox)
                .where(
                    PushOutbox.user_id == user_id,
                    PushOutbox.collapse_key == collapse_key,
                    PushOutbox.status == PENDING,
                )
                .limit(1)
            )
        ).scalar_one_or_none()
        if row is not None:
            row.kind, row.title, row.body = kind, title, body
            row.data = {**payload, "count": str(int(row.data.get("count", "1")) + 1)}
            row.available_at = max(row.available_at, available_at)
            return row
    row = PushOutbox(
        user_id=user_id,
        kind=kind,
        title=title,
        body=body,
        data=payload,
        collapse_key=collapse_key,
        status=PENDING,
        created_at=now,
        available_at=available_at,
    )
    session.add(row)
    return row


async def request_sync(session: AsyncSession, user_ids: set[str] | list[str]) -> None:
    """Owe each user a data-only "sync now" push; pending ones collapse into one per user."""
    for user_id in sorted(set(user_ids)):
        await enqueue(session, user_id=user_id, kind="sync", collapse_key="sync")
