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
from backend.migrate import Schema, schema
from mobile_api.drain import is_draining
from mobile_api.fanout_watchdog import watchdog_metrics
from mobile_api.metrics import job_metrics, schema_metrics

log = logging.getLogger("fieldsync.http")


@get("/health/live", tags=["operations"], summary="The process is up")
async def live() -> dict[str, str]:
    return {"status": "ok"}


#: What readiness says of each schema state, and whether the process takes traffic in it.
MIGRATION_CHECKS: dict[str, tuple[str, bool]] = {
    "current": ("current", True),
    "pending": ("pending: run 'fieldsync migrate'", False),
    # A newer release migrated (expand/contract: its migrations keep this release working) while
    # this process drains, or the code was rolled back without its migrations: keep serving.
    "ahead": ("ahead: the database is newer than this release; serving until replaced", True),
    "diverged": ("diverged: the database has revisions this release does not know", False),
}


@get(
    "/health/ready",
    tags=["operations"],
    summary="The database answers and its schema is this release's or a newer one",
)
async def ready(state: State) -> Response[dict[str, Any]]:
    if is_draining(state):  # SIGTERM: out of the load balancer's rotation first (mobile_api/drain.py)
        return Response({"status": "draining", "checks": {"process": "stopping"}}, status_code=503)
    checks: dict[str, Any] = {}
    body: dict[str, Any] = {"checks": checks}
    ok = False
    try:
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
        found = await schema(state.engine, state.settings.resolved_database_url)
        checks["migrations"], ok = MIGRATION_CHECKS[found.state]
        body["schema"] = {"database": sorted(found.database), "code": sorted(found.code)}
    except Exception as exc:  # readiness reports, it does not raise
        checks["database"] = f"unreachable: {type(exc).__name__}"
    watchdog = _watchdog(state)
    if watchdog is not None:
        # reported, not failed: with Redis down every process would leave the rotation at once,
        # though requests and sync work without it (mobile_api/fanout_watchdog.py)
        checks["fanout"] = watchdog.check
    body["status"] = "ok" if ok else "unavailable"
    return Response(body, status_code=200 if ok else 503)


def _watchdog(state: State) -> Any:
    hub = state.get("hub")
    return getattr(hub, "watchdog", None)


# Litestar appends "; charset=utf-8" to a text/ media type itself: name the rest only, so the
# header carries one charset (prometheus_client's constant already has one).
METRICS_MEDIA_TYPE = "; ".join(p for p in CONTENT_TYPE_LATEST.split("; ") if not p.startswith("charset="))


@get("/metrics", tags=["operations"], summary="Prometheus metrics", media_type=METRICS_MEDIA_TYPE)
async def metrics(state: State) -> Response[bytes]:
    body = generate_latest(state.metrics.registry)
    try:
        found: Schema | None = await schema(state.engine, state.settings.resolved_database_url)
    except Exception:
        found = None
    body += schema_metrics(found) + watchdog_metrics(_watchdog(state))
    try:
        async with AsyncSession(read_only(state.engine)) as session:
            body += job_metrics(await job_states(session))
    except Exception:  # the request metrics still answer while the database does not
        log.warning("/metrics: job states unavailable", exc_info=True)
    return Response(body, media_type=METRICS_MEDIA_TYPE)


ROUTES = [live, ready, metrics]
