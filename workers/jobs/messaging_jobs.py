"""Messaging jobs: push delivery from the outbox, support first-response escalation (issue 6)."""

from __future__ import annotations

import functools
import os
import socket

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.messaging import desk, support
from backend.notifications.delivery import DeliveryReport, deliver_rounds
from backend.notifications.gateway import PushGateway, make_gateway
from workers.spec import JobSpec

WORKER_ID = f"{socket.gethostname()[:40]}-{os.getpid()}"
#: Rounds of up to ``push_batch_size`` per run, so one run drains a burst without starving others.
MAX_ROUNDS = 20
#: Rounds in flight at once: one claims/settles while another sends (bench/push_delivery.py).
IN_FLIGHT = 2


@functools.cache
def gateway_for(credentials: str, endpoint: str) -> PushGateway:
    """One gateway (one firebase-admin App, one OAuth token) per process and configuration."""
    return make_gateway(
        credentials or None, **({"fcm_endpoint": endpoint} if credentials and endpoint else {})
    )


async def deliver_pushes(
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    gateway: PushGateway | None = None,
    worker_id: str = WORKER_ID,
) -> DeliveryReport:
    """Send what the outbox owes, batch after batch, until nothing is due."""
    gateway = gateway or gateway_for(settings.google_application_credentials, settings.fcm_endpoint)
    return await deliver_rounds(
        session_factory,
        gateway,
        worker_id=worker_id,
        batch_size=settings.push_batch_size,
        max_attempts=settings.push_max_attempts,
        max_rounds=MAX_ROUNDS,
        in_flight=IN_FLIGHT,
        lease_s=settings.push_lease_s,
    )


async def escalate_support_breaches(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> list[str]:
    """Record missed SLA targets and tell the team lead and supervisors; then offer queued tickets
    to agents who have room (a ticket waiting because everyone was full is re-offered)."""
    async with session_factory() as session, session.begin():
        breached = await support.escalate_breaches(session)
        await desk.route_waiting(session)
        return breached


JOBS: list[JobSpec] = [
    # every worker delivers: rows are claimed with SKIP LOCKED, so workers add throughput
    JobSpec("deliver_pushes", deliver_pushes, 2, exclusive=False),
    JobSpec("escalate_support_breaches", escalate_support_breaches, 60),
]
