"""Operator endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Response, get
from litestar.datastructures import State
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import read_only
from backend.jobstate import job_states
from backend.migrate import is_current
from mobile_api.drain import is_draining
from mobile_api.metrics import job_metrics

log = logging.getLogger("fieldsync.http")


@get("/health/live", tags=["operations"], summary="The process is up")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@get("/health/ready", tags=["operations"], summary="The database answers and migrations are current")
async def ready(state: State) -> Response[dict[str, Any]]:
    if is_draining(state):  # SIGTERM: out of the load balancer's rotation first (mobile_api/drain.py)
        return Response({"status": "draining", "checks": {"process": "stopping"}}, status_code=503)
    checks: dict[str, Any] = {}
    try:
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
        current = await is_current(state.engine, state.settings.resolved_database_url)
        checks["migrations"] = "current" if current else "pending: run 'fieldsync migrate'"
    except Exception as exc:  # readiness reports, it does not raise
        checks["database"] = f"unreachable: {type(exc).__name__}"
    ok = checks.get("database") == "ok" and checks.get("migrations") == "current"
    return Response(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503
    )


# Litestar appends "; charset=utf-8" to a text/ media type itself: name the rest only, so the
# header carries one charset (prometheus_client's constant already has one).
METRICS_MEDIA_TYPE = "; ".join(p for p in CONTENT_TYPE_LATEST.split("; ") if not p.startswith("charset="))


@get("/metrics", tags=["operations"], summary="Prometheus metrics", media_type=METRICS_MEDIA_TYPE)
async def metrics(state: State) -> Response[bytes]:
    body = generate_latest(state.metrics.registry)
    try:
        async with AsyncSession(read_only(state.engine)) as session:
            body += job_metrics(await job_states(session))
    except Exception:  # the request metrics still answer while the database does not
        log.warning("/metrics: job states unavailable", exc_info=True)
    return Response(body, media_type=METRICS_MEDIA_TYPE)


ROUTES = [live, ready, metrics]
