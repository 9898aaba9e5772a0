"""What a scheduled job is: a name, an async function of (session factory, settings), an interval."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings

Job = Callable[[async_sessionmaker[AsyncSession], Settings], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class JobSpec:
    """``exclusive`` jobs run once per interval across all workers (a lease, backend/jobstate);
    the others (queue consumers that claim their own rows, like push delivery) run in every worker."""

    name: str
    func: Job
    every_s: float
    exclusive: bool = True
