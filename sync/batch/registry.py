"""Set handlers: a mutation name's whole group of a batch applied at once.

A set handler takes the group's decoded arguments (in ``seq`` order) and returns one outcome
per mutation, in the same order: the data an ``applied`` result carries, or the
:class:`~backend.errors.DomainError` the one-by-one handler would have raised. It must give
every mutation exactly the outcome the one-by-one handler would give it had the group run one
after the other, write nothing for a refused mutation, and raise (anything) when it cannot —
the push engine then applies the batch one by one.

``independent_of`` names the mutations a group may be moved across: ones that neither read
nor write what the group's rules read or write. A batch's mutations of one name are gathered
until a mutation outside that set arrives; the group is applied just before it.

A *family* (:func:`set_family`) is several mutation names applied as one group — an order's
create, line edits and submission, say, so a submission sees the create before it. Its handler
gets ``(name, args)`` pairs in ``seq`` order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.errors import DomainError
from backend.identity import Actor


@dataclass(frozen=True, slots=True)
class GroupContext:
    session: AsyncSession
    actor: Actor
    settings: Settings


GroupOutcome = dict[str, Any] | None | DomainError
GroupHandler = Callable[[GroupContext, list[Any]], Awaitable[list[GroupOutcome]]]


FamilyHandler = Callable[[GroupContext, list[tuple[str, Any]]], Awaitable[list[GroupOutcome]]]


@dataclass(frozen=True, slots=True)
class SetMutation:
    name: str
    handler: GroupHandler
    independent_of: frozenset[str]
    # The group the mutation joins: its own name, or its family's first name.
    group: str = ""


SETS: dict[str, SetMutation] = {}


def set_mutation(name: str, *, independent_of: frozenset[str]) -> Callable[[GroupHandler], GroupHandler]:
    """Register ``handler`` as the set handler of the mutation ``name`` (registered one by one too)."""

    def register(handler: GroupHandler) -> GroupHandler:
        if name in SETS:
            raise RuntimeError(f"set handler of {name} registered twice")
        SETS[name] = SetMutation(name, handler, independent_of, name)
        return handler

    return register


def set_family(
    args_by_name: dict[str, type], *, independent_of: frozenset[str]
) -> Callable[[FamilyHandler], FamilyHandler]:
    """Register ``handler`` as the set handler of every mutation named in ``args_by_name`` (each
    with its own argument type), applied as one group."""
    names = {cls: name for name, cls in args_by_name.items()}
    if len(names) != len(args_by_name):
        raise RuntimeError("a family's mutations need argument types of their own")
    group = next(iter(args_by_name))

    def register(handler: FamilyHandler) -> FamilyHandler:
        async def grouped(ctx: GroupContext, items: list[Any]) -> list[GroupOutcome]:
            return await handler(ctx, [(names[type(a)], a) for a in items])

        for name in args_by_name:
            if name in SETS:
                raise RuntimeError(f"set handler of {name} registered twice")
            SETS[name] = SetMutation(name, grouped, independent_of, group)
        return handler

    return register
