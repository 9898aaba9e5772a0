"""The mutation registry: each named command has an argument Struct and an async handler.

A handler runs the domain service with the caller's identity and returns the server-assigned
values a phone needs (or ``None``). It raises the domain's errors; the push engine turns them
into ``rejected`` / ``conflict`` results. Handlers never commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.bounds import Bounded
from backend.config import Settings
from backend.identity import Actor


class Args(Bounded, forbid_unknown_fields=True, kw_only=True):
    """Base of every mutation's arguments: unknown fields are refused, values within :mod:`backend.bounds`."""


@dataclass(frozen=True, slots=True)
class MutationContext:
    session: AsyncSession
    actor: Actor
    settings: Settings
    mutation_id: str
    client_time: str | None


Handler = Callable[[MutationContext, Any], Awaitable[dict[str, Any] | None]]


# From a mutation's raw arguments, the name of what it will lock (``None``: nothing to say). The push
# engine takes these names in one sorted order before the batch runs, so two batches that lock
# the same rows in opposite orders queue instead of deadlocking.
LockKey = Callable[[Any], str | None]


@dataclass(frozen=True, slots=True)
class Mutation:
    name: str
    args: type[Args]
    handler: Handler
    doc: str
    lock_key: LockKey | None = None


REGISTRY: dict[str, Mutation] = {}


def mutation(name: str, args: type[Args], *, lock_key: LockKey | None = None) -> Callable[[Handler], Handler]:
    """Register ``handler`` as the named mutation taking ``args``."""

    def register(handler: Handler) -> Handler:
        if name in REGISTRY:
            raise RuntimeError(f"mutation {name} registered twice")
        REGISTRY[name] = Mutation(name, args, handler, (handler.__doc__ or "").strip(), lock_key)
        return handler

    return register
