"""Composes the pieces into running processes: the API (with an in-process worker) and the worker."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from litestar import Litestar

from backend.config import Settings, load_settings
from mobile_api.app import create_app
from workers.scheduler import build_scheduler


def build_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load_settings()

    @asynccontextmanager
    async def in_process_worker(app: Litestar) -> AsyncGenerator[None, None]:
        if not settings.run_worker_in_process:
            yield
            return
        scheduler = build_scheduler(settings, app.state.session_factory)
        scheduler.start()
        try:
            yield
        finally:
            scheduler.shutdown(wait=False)

    return create_app(settings, lifespan=[in_process_worker])


def app_factory() -> Litestar:
    """Entry point for ``uvicorn --factory fieldsync.wiring:app_factory``."""
    from fieldsync.logs import configure_logging

    settings = load_settings()
    configure_logging(settings)
    return build_app(settings)
