"""Prometheus metrics for requests, kept in a registry per application, and one log line a request."""

from __future__ import annotations

import logging
import time
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from backend.jobstate import JobState
from backend.migrate import SCHEMA_STATES, Schema

log = logging.getLogger("fieldsync.http")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "fieldsync_http_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "fieldsync_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
        )
        self.mutations = Counter(
            "fieldsync_sync_mutations_total",
            "Sync mutations by result",
            ["name", "result"],
            registry=self.registry,
        )


def metrics_middleware(app: ASGIApp) -> ASGIApp:
    """Count and time every HTTP request, and log it (the request id is added by the formatter)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        finally:
            metrics: Metrics = scope["litestar_app"].state.metrics
            route = scope.get("path_template") or "unmatched"
            metrics.requests.labels(scope["method"], route, str(status["code"])).inc()
            elapsed = time.perf_counter() - started
            metrics.latency.labels(scope["method"], route).observe(elapsed)
            log.info("%s %s %s %.1fms", scope["method"], scope["path"], status["code"], elapsed * 1000)

    return middleware


def job_metrics(jobs: list[JobState]) -> bytes:
    """Prometheus text for every scheduled job's last run (read from the database on each scrape,
    so any API process shows what the workers did)."""
    registry = CollectorRegistry()
    started = Gauge(
        "fieldsync_job_last_run_timestamp_seconds",
        "When the job last started (Unix time)",
        ["job"],
        registry=registry,
    )
    duration = Gauge(
        "fieldsync_job_last_duration_seconds", "How long its last run took", ["job"], registry=registry
    )
    outcome = Gauge(
        "fieldsync_job_last_outcome",
        "1 for the outcome of its last run (ok, failed, running)",
        ["job", "outcome"],
        registry=registry,
    )
    runs = Gauge("fieldsync_job_runs", "Runs finished (all workers)", ["job"], registry=registry)
    failures = Gauge("fieldsync_job_failures", "Runs that failed (all workers)", ["job"], registry=registry)
    for job in jobs:
        if job.started_at is not None:
            started.labels(job.name).set(job.started_at.timestamp())
        if job.duration_s is not None:
            duration.labels(job.name).set(job.duration_s)
        if job.outcome:
            outcome.labels(job.name, job.outcome).set(1)
        runs.labels(job.name).set(job.runs)
        failures.labels(job.name).set(job.failures)
    return generate_latest(registry)


def schema_metrics(schema: Schema | None) -> bytes:
    """``fieldsync_schema_state{state}``: 1 for where the database's schema stands against this
    process's migrations (current, pending, ahead, diverged), 0 for the others, all 0 while the
    database does not answer; ``fieldsync_schema_info{database,code}`` names the revisions."""
    registry = CollectorRegistry()
    state = Gauge(
        "fieldsync_schema_state",
        "1 for the schema's state against this process's migrations",
        ["state"],
        registry=registry,
    )
    for name in SCHEMA_STATES:
        state.labels(name).set(1 if schema is not None and schema.state == name else 0)
    if schema is not None:
        info = Gauge(
            "fieldsync_schema_info",
            "The database's and this process's newest revisions",
            ["database", "code"],
            registry=registry,
        )
        info.labels(",".join(sorted(schema.database)), ",".join(sorted(schema.code))).set(1)
    return generate_latest(registry)
