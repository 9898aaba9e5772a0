"""Unknown query parameters are refused, not ignored: a filter that does nothing must not look as
if it worked. One ``before_request`` hook compares a request's query keys to the parameters its
route declares (Litestar's own model of the route's arguments, dependencies included)."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request
from litestar.routes import HTTPRoute

from mobile_api.errors import ApiError

_STATE_KEY = "known_query_params"


def _known(app: Litestar) -> dict[int, frozenset[str]]:
    """``{id(route handler): its query parameter names}``, built once per app."""
    known = app.state.get(_STATE_KEY)
    if known is None:
        known = {}
        for route in app.routes:
            if not isinstance(route, HTTPRoute):
                continue
            for handler, kwargs_model in route.route_handler_map.values():
                names = frozenset(p.field_alias for p in kwargs_model.expected_query_params)
                known[id(handler)] = names
        app.state[_STATE_KEY] = known
    return known


async def refuse_unknown_query_params(request: Request[Any, Any, Any]) -> None:
    """``400 invalid_request`` naming the parameters the route knows when a key is not one."""
    handler = request.route_handler
    if not handler.resolve_include_in_schema():  # static files, console pages: not the API
        return
    given = set(request.query_params.keys())
    if not given:
        return
    known = _known(request.app).get(id(handler), frozenset())
    unknown = sorted(given - known)
    if unknown:
        takes = ", ".join(sorted(known)) or "no query parameters"
        raise ApiError(
            400,
            "invalid_request",
            f"unknown query parameter {', '.join(repr(u) for u in unknown)}; this endpoint takes: {takes}",
            details={"unknown": unknown, "known": sorted(known)},
        )
