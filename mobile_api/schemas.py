"""Request and response structures shared across route modules."""

from __future__ import annotations

from typing import Any, Generic, Self, TypeVar

import msgspec

from backend.bounds import Bounded

T = TypeVar("T")


class Strict(Bounded, forbid_unknown_fields=True, kw_only=True):
    """Base for request bodies: unknown fields are refused, not ignored; every value is within
    :mod:`backend.bounds`."""


class Out(msgspec.Struct):
    """Base for response bodies built from a model row, field by field of the same name."""

    @classmethod
    def of(cls, row: Any) -> Self:
        return msgspec.convert(row, cls, from_attributes=True)


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
