"""How the verifier re-reads a logged record from the domain's own tables.

Each domain that logs records registers a loader returning the record's evidence document as it is
stored *now* (the same dict it passed to ``append_record``), or ``None`` if the record is gone.
``fieldsync evidence verify`` compares it with the logged document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

RecordLoader = Callable[[AsyncSession, str], Awaitable[dict[str, Any] | None]]

_LOADERS: dict[str, RecordLoader] = {}


def register_record_source(record_type: str, load: RecordLoader) -> None:
    _LOADERS[record_type] = load


def record_loader(record_type: str) -> RecordLoader | None:
    return _LOADERS.get(record_type)


# Domains whose service modules register record sources (and media visibility) when imported.
DOMAIN_SERVICES = ("backend.acceptance.service", "backend.inspections.service", "backend.messaging.service")


def import_domain_services() -> None:
    """Import the domain service modules so their registrations run (the verifier needs them)."""
    import importlib

    for name in DOMAIN_SERVICES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
