"""``profile.update`` as a set: a batch's renames of its user in one read and one write."""

from __future__ import annotations

from backend.identity.renames import rename_in_turn
from sync.batch.registry import GroupContext, GroupOutcome, set_mutation
from sync.mutations.messaging_set import MESSAGE_INDEPENDENT
from sync.mutations.profile import ProfileUpdate

# What a rename may be moved across: what a message group may (a rename reads and writes only its
# user row, which messages read: their chat pushes carry the sender's name), and photo links.
PROFILE_INDEPENDENT = MESSAGE_INDEPENDENT | {"media.attach"}


@set_mutation("profile.update", independent_of=PROFILE_INDEPENDENT)
async def profile_updates(ctx: GroupContext, items: list[ProfileUpdate]) -> list[GroupOutcome]:
    """``profile.update`` for a group: the same versions as one by one."""
    versions = await rename_in_turn(ctx.session, ctx.actor.user_id, [a.display_name for a in items])
    return [{"version": v} for v in versions]
