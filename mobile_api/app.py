"""The Litestar application factory."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from litestar import Litestar, Request
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin

from backend.config import Settings
from backend.db import make_engine, make_session_factory
from mobile_api import errors
from mobile_api.auth import provide_actor
from mobile_api.deps import provide_db_session
from mobile_api.metrics import Metrics, metrics_middleware
from mobile_api.request_id import request_id_middleware
from mobile_api.routes import admin, auth, field, health, media, messaging, orders, sync
from mobile_api.workbench_app import routes as workbench_app
from mobile_api.ws_hub import Hub

Lifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]


def _rate_limit_key(request: Request[Any, Any, Any]) -> str:
    """Per signed-in device (its bearer token), else per client address."""
    header = request.headers.get("authorization")
    if header:
        return "t:" + hashlib.sha256(header.encode()).hexdigest()[:24]
    return "ip:" + (request.client.host if request.client else "unknown")


def create_app(
    settings: Settings,
    *,
    route_handlers: Sequence[Any] = (),
    lifespan: Sequence[Lifespan] = (),
    state: dict[str, Any] | None = None,
) -> Litestar:
    """Build the API. Extra ``route_handlers`` and ``lifespan`` hooks come from the composition root."""
    engine = make_engine(settings.resolved_database_url)

    @asynccontextmanager
    async def dispose_engine(_app: Litestar) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await engine.dispose()

    app_state = State(
        {
            "settings": settings,
            "engine": engine,
            "session_factory": make_session_factory(engine),
            "metrics": Metrics(),
            **(state or {}),
        }
    )
    rate_limit = RateLimitConfig(
        rate_limit=("minute", settings.requests_per_minute),
        exclude=["/health", "/metrics", "/schema", "/app"],
        identifier_for_request=_rate_limit_key,
    )
    return Litestar(
        route_handlers=[
            *health.ROUTES,
            *auth.PUBLIC_ROUTES,
            *auth.ROUTES,
            *admin.ROUTES,
            *orders.ROUTES,
            *field.ROUTES,
            *media.ROUTES,
            *messaging.ROUTES,
            *sync.ROUTES,
            *workbench_app.ROUTES,
            *route_handlers,
        ],
        dependencies={"db_session": Provide(provide_db_session), "actor": Provide(provide_actor)},
        exception_handlers=errors.EXCEPTION_HANDLERS,
        middleware=[request_id_middleware, metrics_middleware, rate_limit.middleware],
        state=app_state,
        lifespan=[dispose_engine, *lifespan],
        plugins=[Hub(settings)],  # channels fan-out, after-commit publisher, presence (messaging)
        request_max_body_size=settings.max_body_bytes,
        compression_config=CompressionConfig(backend="gzip", minimum_size=2048),
        openapi_config=OpenAPIConfig(
            title="fieldsync",
            version="1",
            description="Field-operations backend: central store, offline sync, push and chat.",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
        ),
        # fieldsync.logs configures logging for the whole process; Litestar must not replace it.
        logging_config=None,
        debug=False,
    )
