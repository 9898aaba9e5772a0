"""``GET /sync/v1/schema``: the protocol versions, every mutation's arguments and every entity's rows.

One ``msgspec.json.schema_components`` call over the mutations' argument Structs and the
entities' row Structs (``backend.changefeed.rows``), so both share one ``$defs``. A client
generates its types from this document: what a push may send and what a pull delivers.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec

from backend.changefeed.rows import entity_structs
from sync import protocol as p
from sync.mutations import REGISTRY


def protocols(min_protocol: int) -> list[int]:
    """Every protocol version the server speaks: from the configured minimum to its own."""
    return list(range(min(min_protocol, p.PROTOCOL_VERSION), p.PROTOCOL_VERSION + 1))


@cache
def sync_schema(min_protocol: int) -> dict[str, Any]:
    """The schema document (see ``docs/sync-protocol.md``); built once, never mutated."""
    names = sorted(REGISTRY)
    entities = entity_structs()
    types: list[Any] = [REGISTRY[n].args for n in names] + list(entities.values())
    schemas, components = msgspec.json.schema_components(types, ref_template="#/$defs/{name}")
    arg_schemas, row_schemas = schemas[: len(names)], schemas[len(names) :]
    return {
        "protocol": p.PROTOCOL_VERSION,
        "min_protocol": min_protocol,
        "protocols": protocols(min_protocol),
        "mutations": {
            n: {"description": REGISTRY[n].doc, "args": s} for n, s in zip(names, arg_schemas, strict=True)
        },
        "entities": dict(zip(entities, row_schemas, strict=True)),
        "$defs": components,
    }
