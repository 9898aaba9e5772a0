"""Run a batch's mutations through the set handlers, in groups, the rest one by one.

The push engine decides which of a batch's mutations run at all (duplicates and gaps do not)
and hands those to :func:`apply_in_sets` in ``seq`` order. Each mutation with a set handler
joins its name's open group; any other mutation first closes (applies) every open group it may
not be moved across, then runs alone. What is open at the end is applied last. A group whose
handler raises makes the whole batch go one by one (:class:`~sync.push_guard.Replay`), except a
transient database error, which the engine retries as a whole, and a lost race for a first row
(:class:`~backend.setreads.SetRace`), after which the engine first runs the batch as sets once more.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from backend.config import Settings
from backend.db import is_transient_error
from backend.errors import DomainError
from backend.identity import Actor
from sync import protocol as p
from sync.batch.registry import SETS, GroupContext
from sync.push_guard import Replay

log = logging.getLogger("fieldsync.sync")
# Groups applied by set handlers, how many gave up, and (``raced``, counted by the push engine)
# how many of those had lost a first-row race and ran as sets again; the rest went one by one.
STATS: Counter[str] = Counter()


@dataclass(frozen=True, slots=True)
class BatchRun:
    """How the push engine decodes, runs and answers one mutation (its own rules, not copied)."""

    session: Any
    actor: Actor
    settings: Settings
    # The mutation's decoded arguments (second of the triple) or its rejection.
    prepare: Callable[[p.MutationIn], tuple[Any, Any, Any] | p.MutationResult]
    single: Callable[[p.MutationIn], Awaitable[p.MutationResult]]
    applied: Callable[[p.MutationIn, Any], p.MutationResult]
    refused: Callable[[p.MutationIn, DomainError], p.MutationResult]


async def apply_in_sets(run: BatchRun, mutations: list[p.MutationIn]) -> dict[int, p.MutationResult]:
    """Every mutation's result, keyed by ``id()`` of its :class:`~sync.protocol.MutationIn`."""
    results: dict[int, p.MutationResult] = {}
    groups: dict[str, list[tuple[p.MutationIn, Any]]] = {}
    for m in mutations:
        key = SETS[m.name].group if m.name in SETS else m.name  # a family shares one group
        for name in [n for n in groups if n != key and m.name not in SETS[n].independent_of]:
            await _apply_group(run, name, groups.pop(name), results)
        if m.name not in SETS:
            results[id(m)] = await run.single(m)
            continue
        prepared = run.prepare(m)
        if isinstance(prepared, p.MutationResult):
            results[id(m)] = prepared  # unknown or invalid arguments: rejected, nothing to apply
            continue
        groups.setdefault(key, []).append((m, prepared[1]))
    for name, members in groups.items():
        await _apply_group(run, name, members, results)
    return results


async def _apply_group(
    run: BatchRun, name: str, members: list[tuple[p.MutationIn, Any]], results: dict[int, p.MutationResult]
) -> None:
    ctx = GroupContext(run.session, run.actor, run.settings)
    try:
        outcomes = await SETS[name].handler(ctx, [args for _m, args in members])
    except Exception as exc:
        if is_transient_error(exc):
            raise  # a lost race (deadlock, busy database): the whole batch is retried
        STATS["gave_up"] += 1
        log.info("set handler of %s gave up (%s): the batch is applied again", name, exc)
        raise Replay from exc
    STATS["groups"] += 1
    if len(outcomes) != len(members):
        raise Replay(f"set handler of {name} gave {len(outcomes)} outcomes for {len(members)} mutations")
    for (m, _args), outcome in zip(members, outcomes, strict=True):
        results[id(m)] = (
            run.refused(m, outcome) if isinstance(outcome, DomainError) else run.applied(m, outcome)
        )
