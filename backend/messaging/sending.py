"""Storing a batch of new messages: one statement per table, whatever the batch holds.

:func:`backend.messaging.service.send_messages` decides what a batch appends (the rules); this
module writes it. The messages go in with one Core ``INSERT``, the senders' read markers move
with one ``UPDATE`` (checked against the version each member row had, as the ORM checks it),
and the change feed is written once. What is recorded is what storing the messages one at a
time records: a change per message and, per message, one version and one change of its
sender's member row (a phone pulling sees the same versions whichever path stored them). The
rows stay in the session as persistent objects, as if the ORM had flushed them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ARRAY, bindparam, insert, text, update
from sqlalchemy import any_ as any_of
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from backend.changefeed.recording import UPSERT, Change, write_changes
from backend.db import is_postgres
from backend.inserted import note_inserted
from backend.messaging import errors
from backend.messaging.models import ConversationMember, Message

_MEMBERS = ConversationMember.__table__
_MESSAGES = Message.__table__
_MESSAGE_COLUMNS = [c.key for c in _MESSAGES.columns]

# PostgreSQL: the read markers of any number of members in one statement of one shape; a row
# whose version moved meanwhile (a concurrent read marker) is not updated, and is missed below.
_PG_MOVE_MARKERS = text(
    "UPDATE conversation_members AS m SET last_read_seq = u.seq, version = u.new_version "
    "FROM unnest(CAST(:ids AS varchar[]), CAST(:old AS integer[]), CAST(:seqs AS integer[]), "
    "CAST(:new AS integer[])) AS u(id, old_version, seq, new_version) "
    "WHERE m.id = u.id AND m.version = u.old_version RETURNING m.id"
)


def among(session: AsyncSession, column: Any, values: Iterable[Any]) -> Any:
    """``column IN values``; on PostgreSQL ``column = ANY(:array)``, one statement shape whatever
    the number of values. (An ``IN`` list is a new statement for every length: with batches of
    every size, most transactions prepared two or three statements anew, on both sides.)"""
    values = list(values)
    if is_postgres(session):
        return column == any_of(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


@dataclass
class NewMessages:
    """What a batch appends, in order: the messages, and the sender rows they move."""

    messages: list[Message] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    # member id -> (the row, its version before the batch)
    moved: dict[str, tuple[ConversationMember, int]] = field(default_factory=dict)

    def append(self, msg: Message, member: ConversationMember) -> None:
        """Add ``msg`` (a new, unsaved object with every column set) sent as ``member``."""
        self.messages.append(msg)
        scopes = sorted(Message.sync_scopes(lambda name: getattr(msg, name)))
        data = msg.sync_data()
        self.changes.extend(Change(s, "message", msg.id, UPSERT, msg.version, data) for s in scopes)
        self.moved.setdefault(member.id, (member, member.version))
        # One version per message, as a flush per message gives it (the object is not dirtied:
        # the UPDATE below writes it).
        set_committed_value(member, "last_read_seq", max(member.last_read_seq, msg.seq))
        set_committed_value(member, "version", member.version + 1)
        member_scopes = sorted(ConversationMember.sync_scopes(lambda name: getattr(member, name)))
        member_data = member.sync_data()
        self.changes.extend(
            Change(s, "conversation_member", member.id, UPSERT, member.version, member_data)
            for s in member_scopes
        )


async def store(session: AsyncSession, new: NewMessages) -> None:
    """Insert the messages, move the read markers, record the changes (see the module docstring).

    Raises ``client_message_id_reused`` when the insert hits a concurrent send's id, and
    :class:`~sqlalchemy.orm.exc.StaleDataError` when a member row changed meanwhile; either way
    the caller rolls back.
    """
    if not new.messages:
        return
    conn = await session.connection()
    try:
        await conn.execute(
            insert(_MESSAGES), [{k: getattr(m, k) for k in _MESSAGE_COLUMNS} for m in new.messages]
        )
    except IntegrityError:
        raise errors.ClientMessageIdReused("that client message id is already in use") from None
    moved = [(member, old) for member, old in new.moved.values()]
    if is_postgres(session):
        params = {
            "ids": [m.id for m, _ in moved],
            "old": [old for _, old in moved],
            "seqs": [m.last_read_seq for m, _ in moved],
            "new": [m.version for m, _ in moved],
        }
        updated = len((await conn.execute(_PG_MOVE_MARKERS, params)).all())
    else:
        result = await conn.execute(
            update(_MEMBERS)
            .where(_MEMBERS.c.id == bindparam("mid"), _MEMBERS.c.version == bindparam("old"))
            .values(last_read_seq=bindparam("seq"), version=bindparam("new")),
            [{"mid": m.id, "old": old, "seq": m.last_read_seq, "new": m.version} for m, old in moved],
        )
        updated = result.rowcount
    if updated != len(moved):
        raise StaleDataError("a member row changed while its messages were stored")
    sync = session.sync_session
    for msg in new.messages:
        make_transient_to_detached(msg)
        sync.add(msg)
        note_inserted(session, msg)
    await session.run_sync(lambda s: write_changes(s, new.changes))
