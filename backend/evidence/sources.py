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
