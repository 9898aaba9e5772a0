"""Request and response structures shared across route modules."""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

T = TypeVar("T")


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base for request bodies: unknown fields are refused, not ignored."""


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
