"""The published OpenAPI 3.1 contract (``/schema/openapi.json``): what the API really sends.

Litestar builds the document from the routes' msgspec types. This module adds what it cannot
see on its own, each with Litestar's own mechanism where it has one:

* the one error body ``{code, message, details}`` (:class:`ErrorBody`) as a ``ResponseSpec``
  in each route's ``responses=`` for every error status the route can send, the status's
  machine codes listed in its description (:func:`error_statuses`, read from the raise sites
  of the route's module and of the domain packages it calls);
* the bearer security scheme (``OpenAPIConfig`` components) and ``security=`` on every route
  that needs a token;
* ``additionalProperties: false`` on bodies that refuse unknown fields (a schema plugin);
* what raw-body routes read and send, which no signature shows: the sync push, pull and
  schema documents in JSON and MessagePack, and the tus headers of the upload routes
  (:func:`complete_document`, run when Litestar builds the document).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, OpenAPI, SecurityScheme
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition

from backend.media.uploads import MAX_METADATA_CHARS
from mobile_api.openapi_codes import reachable_codes
from sync import protocol as p

BEARER = "bearer"
ROOT = Path(__file__).resolve().parent.parent
# Paths the per-device request limit does not apply to (see ``mobile_api.app``).
UNLIMITED_PREFIXES = ("/health", "/metrics", "/schema")
TUS_BASE = "/media/uploads"


class ErrorBody(msgspec.Struct, kw_only=True):
    """Every error the API sends: a stable machine ``code``, a human ``message`` saying what to
    do, and ``details`` (what was wrong, limits, the valid values) or ``null``."""

    code: str
    message: str
    details: Any = None


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """Litestar's Struct schemas, exact for a Struct that refuses unknown fields
    (``forbid_unknown_fields=True``: every request body of ``mobile_api``): it says
    ``additionalProperties: false``, and each property holding no other Struct is msgspec's own
    JSON Schema of the field, which is what the decoder enforces. (Litestar keeps a field's own
    bounds but drops those inside it: a ``list[Id]``'s items, a dict's keys and values.)"""

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Any:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        struct = field_definition.type_
        if getattr(struct.__struct_config__, "forbid_unknown_fields", False):
            schema.additional_properties = False
            for name, exact in _exact_properties(struct).items():
                if schema.properties and name in schema.properties:
                    schema.properties[name] = exact
        return schema


def _exact_properties(struct: type[msgspec.Struct]) -> dict[str, Any]:
    """msgspec's JSON Schema of each of ``struct``'s fields that holds no Struct (those are
    Litestar's components) and no datetime or time (msgspec gives them no ``format``)."""
    _schema, components = msgspec.json.schema_components([struct], ref_template="#/components/schemas/{name}")
    properties = next(c for c in components.values() if c.get("title") == struct.__name__)["properties"]
    info = msgspec.inspect.type_info(struct)
    kept = {f.encode_name for f in info.fields if not _holds(f.type, _NOT_EXACT)}  # type: ignore[attr-defined]
    return {name: schema for name, schema in properties.items() if name in kept}


_NOT_EXACT = (msgspec.inspect.StructType, msgspec.inspect.DateTimeType, msgspec.inspect.TimeType)


def _holds(t: msgspec.inspect.Type, kinds: tuple[type, ...]) -> bool:
    if isinstance(t, kinds):
        return True
    children = (
        [getattr(t, attr) for attr in ("item_type", "key_type", "value_type") if hasattr(t, attr)]
        + list(getattr(t, "types", ()) or ())
        + list(getattr(t, "item_types", ()) or ())
    )
    return any(_holds(child, kinds) for child in children)


def operation_id(handler: HTTPRouteHandler, _method: Any, path_components: list[Any]) -> str:
    """``<first path segment>_<handler name>``: ``auth_login``, ``orders_submit_order``,
    ``sync_push`` — stable names for generated clients' functions."""
    first = next((c for c in path_components if isinstance(c, str) and c), "root")
    return f"{first.replace('-', '_')}_{handler.handler_name.removesuffix('_route')}"


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        operation_id_creator=operation_id,
        title="fieldsync",
        version="1",
        description=(
            "Field-operations backend: central store, offline sync, push and chat. Every error is "
            "`{code, message, details}`; sign in with `POST /auth/login` and send "
            "`Authorization: Bearer <access_token>`. The sync protocol's row shapes are in "
            "`GET /sync/v1/schema`."
        ),
        path="/schema",
        render_plugins=[SwaggerRenderPlugin()],
        components=Components(
            security_schemes={
                BEARER: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    bearer_format="JWT",
                    description="The access token from `POST /auth/login` or `POST /auth/refresh`.",
                )
            }
        ),
    )


# --- which errors each route can send ------------------------------------------------------


def _needs_token(handler: HTTPRouteHandler) -> bool:
    params = handler.parsed_fn_signature.parameters
    if "actor" in params:
        return True
    source = inspect.getsource(handler.fn)
    return any(call in source for call in ("token_subject(", "actor_from_connection(", "_authenticate("))


def _has_body(handler: HTTPRouteHandler) -> bool:
    if "data" in handler.parsed_fn_signature.parameters:
        return True
    source = inspect.getsource(handler.fn)
    return any(read in source for read in ("request.body(", "read_body(", "_append(", "request.stream("))


def _uses_database(handler: HTTPRouteHandler) -> bool:
    params = handler.parsed_fn_signature.parameters
    if "db_session" in params or "actor" in params:
        return True
    source = inspect.getsource(handler.fn)
    return "_factory(" in source or "session_factory" in source or "state.engine" in source


def error_statuses(handler: HTTPRouteHandler, path: str, path_params: bool) -> dict[int, set[str]]:
    """``{status: codes}`` of every error the handler can answer."""
    statuses: dict[int, set[str]] = {400: {"invalid_request"}}
    for status, code in reachable_codes(handler.fn):
        statuses.setdefault(status, set()).add(code)
    if _needs_token(handler):
        statuses.setdefault(401, set()).update({"unauthenticated", "token_invalid", "token_expired"})
    if path_params:
        statuses.setdefault(404, set()).add("not_found")
    if _has_body(handler):
        statuses.setdefault(413, set()).add("body_too_large")
    if not path.startswith(UNLIMITED_PREFIXES):
        statuses.setdefault(429, set()).add("rate_limited")
    if _uses_database(handler):
        statuses.setdefault(503, set()).add("database_busy")
    if path.startswith(TUS_BASE):
        _tus_statuses(statuses)
    # Codes of statuses a route does not speak (a domain package serves several routes) stay out
    # only where the route cannot reach them: 426 is the sync protocol's alone.
    if not path.startswith("/sync/"):
        statuses.pop(426, None)
    return statuses


def _tus_statuses(statuses: dict[int, set[str]]) -> None:
    """The tus routes answer some codes with tus's own statuses (``media_uploads.TUS_STATUS``)."""
    from mobile_api.routes.media_uploads import TUS_STATUS

    for code, status in TUS_STATUS.items():
        for codes in statuses.values():
            codes.discard(code)
        statuses.setdefault(status, set()).add(code)
    statuses.setdefault(412, set()).add("tus_version_unsupported")
    statuses.setdefault(415, set()).add("unsupported_media_type")
    for status in [s for s, codes in statuses.items() if not codes]:
        del statuses[status]


def _describe(status: int, codes: set[str]) -> str:
    listed = ", ".join(f"`{c}`" for c in sorted(codes))
    try:
        name = HTTPStatus(status).phrase
    except ValueError:
        name = {460: "Checksum mismatch"}.get(status, "Error")
    return f"{name}. `code` is one of: {listed}."


def _routes(app: Litestar) -> Iterator[tuple[HTTPRoute, HTTPRouteHandler]]:
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                yield route, handler


def document_errors(app: Litestar) -> None:
    """Give every route its error responses and, where it needs a token, the bearer scheme."""
    for route, handler in _routes(app):
        if not handler.resolve_include_in_schema():
            continue
        statuses = error_statuses(handler, route.path, bool(route.path_parameters))
        responses = dict(handler.responses or {})
        for status, codes in sorted(statuses.items()):
            responses[status] = ResponseSpec(
                data_container=ErrorBody, description=_describe(status, codes), generate_examples=False
            )
        handler.responses = responses
        if _needs_token(handler):
            handler.security = [{BEARER: []}]


# --- what raw-body routes read and send ------------------------------------------------------

SYNC_TYPES = [p.PushRequest, p.PushResponse, p.PullResponse]
MEDIA_TYPES = (p.JSON, p.MSGPACK)


def _content(ref: dict[str, Any]) -> dict[str, Any]:
    return {media: {"schema": ref} for media in MEDIA_TYPES}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _sync_components() -> dict[str, Any]:
    _schemas, components = msgspec.json.schema_components(
        SYNC_TYPES, ref_template="#/components/schemas/{name}"
    )
    components["SyncSchema"] = {
        "title": "SyncSchema",
        "description": "The sync protocol's schema document (see docs/sync-protocol.md).",
        "type": "object",
        "required": ["protocol", "min_protocol", "protocols", "mutations", "entities", "$defs"],
        "properties": {
            "protocol": {"type": "integer"},
            "min_protocol": {"type": "integer"},
            "protocols": {"type": "array", "items": {"type": "integer"}},
            "mutations": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["description", "args"],
                    "properties": {"description": {"type": "string"}, "args": {"type": "object"}},
                },
            },
            "entities": {"type": "object", "additionalProperties": {"type": "object"}},
            "$defs": {"type": "object", "additionalProperties": {"type": "object"}},
        },
    }
    return components


def _header(
    name: str, description: str, *, required: bool = False, integer: bool = False, **string: Any
) -> dict[str, Any]:
    """A request header; ``string``: the string's bounds (``maxLength``, ``enum``)."""
    return {
        "name": name,
        "in": "header",
        "required": required,
        "description": description,
        "schema": {"type": "integer", "minimum": 0} if integer else {"type": "string", **string},
    }


_TUS_RESUMABLE = _header("Tus-Resumable", "The tus version: `1.0.0`.", required=True, enum=["1.0.0"])
# ``sha1`` or ``sha256`` and a base64 digest: 51 characters at most; a longer value cannot match.
_CHECKSUM = {"maxLength": 64}
_TUS_REQUEST_HEADERS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("/media/uploads", "post"): [
        _TUS_RESUMABLE,
        _header("Upload-Length", "The file's size in bytes.", required=True, integer=True),
        _header(
            "Upload-Metadata",
            "Comma-separated `key base64(value)` pairs: `filename`, `filetype`, `record_type`, "
            "`record_id`, `kind`.",
            maxLength=MAX_METADATA_CHARS,
        ),
        _header(
            "Upload-Checksum", "`sha1 <base64 digest>` of a first chunk sent with the request.", **_CHECKSUM
        ),
    ],
    ("/media/uploads/{upload_id}", "head"): [_TUS_RESUMABLE],
    ("/media/uploads/{upload_id}", "patch"): [
        _TUS_RESUMABLE,
        _header("Upload-Offset", "Where this chunk starts (HEAD's offset).", required=True, integer=True),
        _header("Upload-Checksum", "`sha1 <base64 digest>` of this chunk.", **_CHECKSUM),
    ],
    ("/media/uploads/{upload_id}", "delete"): [_TUS_RESUMABLE],
}
_TUS_REPLY_HEADERS = {
    "Tus-Resumable": {"schema": {"type": "string"}, "description": "`1.0.0`"},
    "Upload-Offset": {"schema": {"type": "integer"}, "description": "Bytes received so far."},
    "Upload-Expires": {"schema": {"type": "string"}, "description": "When an unfinished upload expires."},
    "Fieldsync-Media-Sha256": {
        "schema": {"type": "string"},
        "description": "The finished file's SHA-256 (its address under /media/photos).",
    },
}
# The tus routes' success replies (Litestar's declared status aside: these are what they send).
_TUS_SUCCESS = {
    ("/media/uploads", "post"): ("201", "Created; `Location` is its URL.", ["Location", "Upload-Offset"]),
    ("/media/uploads/{upload_id}", "head"): ("200", "Where to resume.", ["Upload-Offset"]),
    ("/media/uploads/{upload_id}", "patch"): ("204", "Chunk stored.", ["Upload-Offset"]),
    ("/media/uploads/{upload_id}", "delete"): ("204", "Upload cancelled.", []),
}


def _complete_tus(openapi: OpenAPI) -> None:
    paths = openapi.paths or {}
    for (path, method), headers in _TUS_REQUEST_HEADERS.items():
        item = paths.get(path)
        operation = getattr(item, method, None) if item else None
        if operation is None:
            continue
        operation.parameters = [*(operation.parameters or []), *headers]
        status, description, reply_headers = _TUS_SUCCESS[(path, method)]
        responses = {k: v for k, v in (operation.responses or {}).items() if not k.startswith("2")}
        header_specs = {"Tus-Resumable": _TUS_REPLY_HEADERS["Tus-Resumable"]}
        for name in [*reply_headers, "Upload-Expires", "Fieldsync-Media-Sha256"]:
            header_specs[name] = _TUS_REPLY_HEADERS.get(name, {"schema": {"type": "string"}})
        responses[status] = {"description": description, "headers": header_specs}
        if method == "head":
            # A HEAD reply has no body: its errors are statuses alone.
            for key in list(responses):
                if not key.startswith("2"):
                    responses[key] = {"description": _plain(responses[key])}
        operation.responses = responses


def _plain(response: Any) -> str:
    return response["description"] if isinstance(response, dict) else response.description


def _complete_sync(openapi: OpenAPI, max_batch: int) -> None:
    schemas = openapi.components.schemas if openapi.components.schemas is not None else {}
    schemas.update(_sync_components())
    # The envelope's batch limit is a setting (``sync_max_batch``): more is 413 ``batch_too_large``.
    schemas["PushRequest"]["properties"]["mutations"]["maxItems"] = max_batch
    openapi.components.schemas = schemas
    paths = openapi.paths or {}
    replies = {
        ("/sync/v1/push", "post"): "PushResponse",
        ("/sync/v1/pull", "get"): "PullResponse",
        ("/sync/v1/schema", "get"): "SyncSchema",
    }
    for (path, method), name in replies.items():
        operation = getattr(paths.get(path), method, None)
        if operation is None:
            continue
        description = operation.responses["200"].description if operation.responses else "OK"
        operation.responses["200"] = {
            "description": description,
            "content": _content(_ref(name)),
        }
        if method == "post":
            operation.request_body = {"required": True, "content": _content(_ref("PushRequest"))}


def complete_document(openapi: OpenAPI, *, max_batch: int) -> OpenAPI:
    _complete_sync(openapi, max_batch)
    _complete_tus(openapi)
    return openapi


class _CompletingOpenAPIPlugin(OpenAPIPlugin):
    """Litestar's OpenAPI plugin, completing the document it builds (:func:`complete_document`)."""

    __slots__ = ()

    def _build_openapi(self) -> OpenAPI:
        # The error analysis reads every route's call graph (seconds of CPU): done when the document
        # is first asked for, not at every start of a server process.
        document_errors(self.app)
        return complete_document(super()._build_openapi(), max_batch=self.app.state.settings.sync_max_batch)


def install(app: Litestar) -> None:
    """Document the app's errors and security, and complete the document, when it is built."""
    # Litestar builds the document in its own plugin (slotted, created by the app itself).
    app.plugins.get(OpenAPIPlugin).__class__ = _CompletingOpenAPIPlugin
