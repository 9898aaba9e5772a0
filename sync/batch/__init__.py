"""Applying a push batch as sets: the mutations of one name together, in a handful of statements.

:mod:`sync.batch.registry` holds the *set handlers* (one per mutation name that has one) and
what each may be reordered across; :mod:`sync.batch.apply` runs a batch's mutations through
them, falling back to the one-by-one handler for everything else. The exactly-once bookkeeping
(which mutations run at all) stays in :mod:`sync.push`.
"""

from sync.batch.apply import BatchRun, apply_in_sets
from sync.batch.registry import SETS, GroupContext, set_mutation

__all__ = ["SETS", "BatchRun", "GroupContext", "apply_in_sets", "set_mutation"]
