"""Request and response structures shared across route modules."""

from __future__ import annotations

from typing import Any, Generic, Self, TypeVar

import msgspec
from litestar import Response
from litestar.openapi import ResponseSpec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.bounds import Bounded
from backend.inserted import inserted

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


def created_or_existing(session: AsyncSession, row: Any, body: T) -> Response[T]:
    """``201`` with ``body`` when this request created ``row``, ``200`` when it existed already
    (a create-or-return route: the same client id sent again)."""
    return Response(body, status_code=201 if inserted(session, row) else 200)


def existed(model: Any) -> dict[int, ResponseSpec]:
    """The ``200`` of a create-or-return route, for its ``responses=``."""
    return {
        200: ResponseSpec(
            model, description="It existed already (the same id sent again): returned as it is, unchanged."
        )
    }
