"""The query string's boundary, in one ``before_request`` hook for every route, read from the
parameters the route declares (Litestar's own model of its arguments, dependencies included):

* unknown query parameters are refused, not ignored: a filter that does nothing must not look
  as if it worked;
* a date or time parameter (``since``, ``date_from``, …) is held to the bounds of a body's
  (:func:`backend.bounds.check_value`: years 1900–2999), which a parameter type cannot state.
  Strings and numbers are bounded by their parameter types (``mobile_api.params``)."""

from __future__ import annotations

from datetime import date, datetime
from types import NoneType, UnionType
from typing import Any, NamedTuple, Union, get_args, get_origin

import msgspec
from litestar import Litestar, Request
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

from backend.bounds import OutOfBounds, check_value
from mobile_api.errors import ApiError

_STATE_KEY = "known_query_params"


class _Query(NamedTuple):
    names: frozenset[str]  # every query parameter the route takes
    times: dict[str, type]  # those that are a date or a datetime: {query key: type}


def _time_type(annotation: Any) -> type | None:
    """``datetime`` or ``date`` when ``annotation`` is one (or one or ``None``)."""
    if get_origin(annotation) in (Union, UnionType):
        kinds = [a for a in get_args(annotation) if a is not NoneType]
        annotation = kinds[0] if len(kinds) == 1 else None
    return annotation if annotation in (datetime, date) else None


def _times(handler: HTTPRouteHandler, aliases: dict[str, str]) -> dict[str, type]:
    found = {}
    for name, field in handler.parsed_fn_signature.parameters.items():
        kind = _time_type(field.annotation)
        if kind is not None and name in aliases:
            found[aliases[name]] = kind
    return found


def _known(app: Litestar) -> dict[int, _Query]:
    """``{id(route handler): its query parameters}``, built once per app."""
    known = app.state.get(_STATE_KEY)
    if known is None:
        known = {}
        for route in app.routes:
            if not isinstance(route, HTTPRoute):
                continue
            for handler, kwargs_model in route.route_handler_map.values():
                aliases = {p.field_name: p.field_alias for p in kwargs_model.expected_query_params}
                known[id(handler)] = _Query(frozenset(aliases.values()), _times(handler, aliases))
        app.state[_STATE_KEY] = known
    return known


def _check_times(request: Request[Any, Any, Any], times: dict[str, type]) -> None:
    for key, kind in times.items():
        raw = request.query_params.get(key)
        if not raw:
            continue
        try:
            value = msgspec.convert(raw, kind, strict=False)
        except msgspec.ValidationError:
            continue  # not a date at all: the route's parameter type says so
        try:
            check_value(value, key)
        except OutOfBounds as exc:
            raise ApiError(400, "invalid_request", str(exc), details={"parameter": key}) from None


async def check_query(request: Request[Any, Any, Any]) -> None:
    """``400 invalid_request`` naming the parameters the route knows when a key is not one, or
    naming a date or time parameter out of range."""
    handler = request.route_handler
    if not handler.resolve_include_in_schema():  # static files, console pages: not the API
        return
    given = set(request.query_params.keys())
    if not given:
        return
    query = _known(request.app).get(id(handler), _Query(frozenset(), {}))
    known = query.names
    unknown = sorted(given - known)
    if "access_token" in unknown:
        # Tokens in URLs end up in logs and proxies: REST reads the Authorization header only.
        raise ApiError(
            401,
            "unauthenticated",
            "send 'Authorization: Bearer <access token>'; only the WebSocket reads access_token "
            "from the query string",
        )
    if unknown:
        takes = ", ".join(sorted(known)) or "no query parameters"
        raise ApiError(
            400,
            "invalid_request",
            f"unknown query parameter {', '.join(repr(u) for u in unknown)}; this endpoint takes: {takes}",
            details={"unknown": unknown, "known": sorted(known)},
        )
    _check_times(request, query.times)
