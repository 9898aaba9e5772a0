"""The Litestar application factory."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from litestar import Litestar, Request
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.di import Provide

from backend.config import Settings
from backend.db import make_engine, make_session_factory
from backend.errors import DomainError
from mobile_api import errors, openapi
from mobile_api.auth import provide_actor, token_subject
from mobile_api.boundary import BoundedRequest, boundary_middleware
from mobile_api.deps import NO_COMPRESSION, provide_db_session
from mobile_api.drain import drain_on_sigterm
from mobile_api.metrics import Metrics, metrics_middleware
from mobile_api.query_params import check_query
from mobile_api.ratelimit import rate_limit_middleware
from mobile_api.request_id import request_id_middleware
from mobile_api.routes import (
    admin,
    auth,
    field,
    health,
    media,
    messaging,
    orders,
    replenishment,
    supplier_data,
    sync,
    visits,
)
from mobile_api.workbench_app import routes as workbench_app
from mobile_api.ws_hub import Hub

Lifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]


def rate_limit_key(request: Request[Any, Any, Any]) -> str:
    """What a request counts against: the device of a *verified* access token (its signature and
    expiry checked, no database), else the client's address. An unverified ``Authorization``
    header never picks the key, so junk bearers cannot each get a fresh budget."""
    try:
        user_id, device_id = token_subject(request)
    except DomainError:
        return "ip:" + (request.client.host if request.client else "unknown")
    return "dev:" + (device_id or f"user:{user_id}")


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
    # Counted in Redis when FIELDSYNC_REDIS_URL is set (shared by every API process), else here.
    rate_limit = rate_limit_middleware(rate_limit_key, exclude=["/health", "/metrics", "/schema", "/app"])
    app = Litestar(
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
            *visits.ROUTES,
            *replenishment.ROUTES,
            *supplier_data.ROUTES,
            *workbench_app.ROUTES,
            *route_handlers,
        ],
        dependencies={"db_session": Provide(provide_db_session), "actor": Provide(provide_actor)},
        exception_handlers=errors.EXCEPTION_HANDLERS,
        before_request=check_query,
        middleware=[request_id_middleware, metrics_middleware, boundary_middleware, rate_limit],
        request_class=BoundedRequest,
        state=app_state,
        lifespan=[dispose_engine, drain_on_sigterm, *lifespan],
        # channels fan-out, after-commit publisher, presence (messaging); the contract's Struct schemas
        plugins=[Hub(settings), openapi.StrictStructSchemaPlugin()],
        request_max_body_size=settings.max_body_bytes,
        # Level 6 (zlib's default), not 9: the same size in ~15% less CPU. Routes with
        # ``opt={NO_COMPRESSION: True}`` (the push reply) are never compressed.
        compression_config=CompressionConfig(
            backend="gzip", minimum_size=2048, gzip_compress_level=6, exclude_opt_key=NO_COMPRESSION
        ),
        openapi_config=openapi.openapi_config(),
        # fieldsync.logs configures logging for the whole process; Litestar must not replace it.
        logging_config=None,
        debug=False,
    )
    openapi.install(app)  # errors, security and raw bodies in the published contract
    return app
