"""The push identity rule: which mutation a pushed ``(id, seq)`` is, and what it is owed.

A mutation is identified by its ``id`` within its outbox (user, ``client_id``); its ``seq`` is
its position in that outbox. The server keeps, per outbox, one stored result per acknowledged
seq (``sync_mutations``) and the highest acknowledged seq (``sync_clients.last_seq``).

For each pushed mutation, in seq order (``next`` is the acknowledged seq + 1):

* its id was stored **under this seq** → ``duplicate`` of itself: the stored result again;
* its id was stored **under another seq** → ``rejected`` ``id_reused`` (``details.seq``: where
  the id stands). If its seq is ``next`` that seq is acknowledged by this rejection (stored
  without an id, so the id keeps naming its first mutation);
* a new id under a seq **already acknowledged** (by another id) → ``rejected`` ``seq_reused``;
  nothing ran, and it never carries another mutation's result;
* a new id at ``next`` → it runs (applied, conflict or rejected) and is acknowledged;
* any seq past ``next`` → ``rejected`` ``seq_gap``, not acknowledged.

A seq at or below the acknowledged one with nothing stored for it or for the id (its result was
pruned after ``FIELDSYNC_SYNC_RESULT_RETENTION_S``) is a bare ``duplicate``. Arguments are not
compared: an id names one mutation for good.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sync import protocol as p

SEQ_GAP = "seq_gap"
ID_REUSED = "id_reused"
SEQ_REUSED = "seq_reused"


class Settled(NamedTuple):
    """A mutation the rule decides without running it; ``acknowledged``: its seq is now taken."""

    result: p.MutationResult
    acknowledged: bool = False


def settle(
    m: p.MutationIn, last_seq: int, by_id: dict[str, dict[str, Any]], by_seq: dict[int, dict[str, Any]]
) -> Settled | None:
    """What ``m`` is owed without running, or ``None``: it is new at the next seq and runs.

    ``last_seq`` is the outbox's acknowledged seq so far (the batch's earlier mutations
    included); ``by_id``/``by_seq`` are the stored results (likewise)."""
    expected = last_seq + 1
    if m.seq > expected:
        message = f"expected seq {expected} next; push the missing mutations first"
        return Settled(rejected(m, SEQ_GAP, message, {"expected_seq": expected}))
    stored = by_id.get(m.id)
    if stored is not None:
        if stored["seq"] == m.seq:
            return Settled(duplicate_of(m, stored))
        first = stored["seq"]
        message = f"mutation id {m.id!r} was already used for seq {first}; give every mutation a new id"
        return Settled(rejected(m, ID_REUSED, message, {"seq": first}), acknowledged=m.seq == expected)
    if m.seq == expected:
        return None
    if m.seq in by_seq:
        message = (
            f"seq {m.seq} was already acknowledged for another mutation; nothing ran. "
            f"Queue it again under a new seq (next: {expected})"
        )
        return Settled(rejected(m, SEQ_REUSED, message, {"expected_seq": expected}))
    return Settled(p.MutationResult(id=m.id, seq=m.seq, status=p.DUPLICATE))  # its result was pruned


def duplicate_of(m: p.MutationIn, stored: dict[str, Any]) -> p.MutationResult:
    return p.MutationResult(
        id=m.id,
        seq=stored["seq"],
        status=p.DUPLICATE,
        code=stored["code"],
        message=stored["message"],
        data=stored["data"],
        original_status=stored["status"],
    )


def rejected(m: p.MutationIn, code: str, message: str, details: Any = None) -> p.MutationResult:
    return p.MutationResult(id=m.id, seq=m.seq, status=p.REJECTED, code=code, message=message, data=details)
