"""Renaming a user several times in one go: what one flush per rename gives, in one read and one write.

A phone that was offline may carry several renames of its user in one push. One by one, each is
a locked read of the user row and, when the name changes, an ``UPDATE`` (a version each) whose
flush records the row's changes. :func:`rename_in_turn` takes the row once (``FOR NO KEY
UPDATE``, as one by one: a concurrent push of the same user holds a key share on it through its
``sync_clients`` row), walks the names in memory and writes the last name and version once,
recording per rename the change a flush would have recorded.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from backend.changefeed.recording import UPSERT, Change, record_changes
from backend.identity.models import User

_USERS = User.__table__


async def rename_in_turn(session: AsyncSession, user_id: str, names: list[str]) -> tuple[str, list[int]]:
    """The user's name before the renames, and its version after each of ``names`` in turn. A
    name equal to the current one changes nothing (a flush of an unchanged row writes nothing and
    keeps the version)."""
    user = await session.get(User, user_id, with_for_update={"key_share": True})
    if user is None:
        raise LookupError(f"user {user_id} is gone")  # the actor was loaded from this row
    first_name, first_version = user.display_name, user.version
    versions: list[int] = []
    changes: list[Change] = []
    for name in names:
        if name != user.display_name:
            # As the flush would leave the object: the new name and the next version, committed.
            set_committed_value(user, "display_name", name)
            set_committed_value(user, "version", user.version + 1)
            data = user.sync_data()
            scopes = sorted(User.sync_scopes(lambda column: getattr(user, column)))
            changes.extend(
                Change(s, User.__sync_entity__, user.id, UPSERT, user.version, data) for s in scopes
            )
        versions.append(user.version)
    if user.version != first_version:
        written = await session.execute(
            update(_USERS)
            .where(_USERS.c.id == user_id, _USERS.c.version == first_version)
            .values(display_name=user.display_name, version=user.version)
        )
        if written.rowcount != 1:  # type: ignore[attr-defined]
            raise StaleDataError("the user row changed while it was locked")
        await record_changes(session, changes)
    return first_name, versions
