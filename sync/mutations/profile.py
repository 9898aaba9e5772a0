"""Mutations on the caller's own user record."""

from __future__ import annotations

from typing import Annotated

import msgspec

from backend.identity import User
from sync.mutations.registry import Args, MutationContext, mutation


class ProfileUpdate(Args):
    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


@mutation("profile.update", ProfileUpdate)
async def profile_update(ctx: MutationContext, args: ProfileUpdate) -> dict:
    """Rename the signed-in user (the only profile field a phone may change)."""
    # FOR NO KEY UPDATE (no key changes): a concurrent push of the same user holds a key share on
    # this row (its sync_clients row references it), which FOR UPDATE would deadlock against.
    user = await ctx.session.get(User, ctx.actor.user_id, with_for_update={"key_share": True})
    assert user is not None  # the actor was loaded from this row
    user.display_name = args.display_name
    await ctx.session.flush()
    return {"version": user.version}
