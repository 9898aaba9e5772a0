"""Storing a batch of new messages: a fixed number of statements, whatever the batch holds.

:func:`backend.messaging.service.send_messages` decides what a batch appends (the rules); this
module writes it: the messages, the conversations' counters (``last_seq``, ``last_message_at``)
and the senders' read markers (checked against the version each member row had, as the ORM
checks it), then the change feed once. On PostgreSQL the first three are one statement (the
messages as one JSON document, the counters and markers as arrays through ``unnest``, the insert
and the counters as data-modifying CTEs of the markers' ``UPDATE``): one round trip and one
prepared plan for any batch, where an ``executemany`` per table ran one execution per message
(0.19–0.20 ms of database time each at 500 messages/s over 10,000 sockets). On SQLite each is
one ``executemany``.

What is recorded is what storing the messages one at a time records: a change per message and,
per message, one version and one change of its sender's member row (a phone pulling sees the
same versions whichever path stored them). The rows stay in the session as persistent objects,
as if the ORM had flushed them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import ARRAY, bindparam, update
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
from backend.messaging.models import Conversation, ConversationMember, Message
from backend.rowwrites import RowWrite, pg_driver_sql

_MEMBERS = ConversationMember.__table__
_MESSAGES = Message.__table__
_CONVERSATIONS = Conversation.__table__
_MESSAGE_COLUMNS = tuple(c.key for c in _MESSAGES.columns)
_MESSAGE_WRITE = RowWrite(_MESSAGES, _MESSAGE_COLUMNS)
_STORE_PARAMS = ("at", "cids", "cseqs", "ids", "old", "seqs", "new")


@cache
def _pg_store() -> tuple[str, tuple[str, ...]]:
    """PostgreSQL: messages, counters and read markers in one statement of one shape. A member
    row whose version moved meanwhile (a concurrent read marker) is not updated, and is missed
    by the caller counting the ``RETURNING`` rows."""
    sql = (
        f"WITH inserted AS ({_MESSAGE_WRITE.pg_insert('m')}), "
        "counters AS (UPDATE conversations AS c SET last_seq = u.seq, "
        "last_message_at = CAST(:at AS timestamptz) "
        "FROM unnest(CAST(:cids AS varchar[]), CAST(:cseqs AS integer[])) AS u(id, seq) "
        "WHERE c.id = u.id) "
        "UPDATE conversation_members AS m SET last_read_seq = u.seq, version = u.new_version "
        "FROM unnest(CAST(:ids AS varchar[]), CAST(:old AS integer[]), CAST(:seqs AS integer[]), "
        "CAST(:new AS integer[])) AS u(id, old_version, seq, new_version) "
        "WHERE m.id = u.id AND m.version = u.old_version RETURNING m.id"
    )
    names = ("m", *_STORE_PARAMS)
    return pg_driver_sql(sql, names), names


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


async def store(session: AsyncSession, new: NewMessages, counters: dict[str, int], at: datetime) -> None:
    """Insert the messages, set each conversation's ``last_seq`` (``counters``: id → seq) and
    ``last_message_at`` (``at``), move the read markers, record the changes (see the module
    docstring). The counters are not replicated: they neither bump a version nor log a change.

    Raises ``client_message_id_reused`` when the insert hits a concurrent send's id, and
    :class:`~sqlalchemy.orm.exc.StaleDataError` when a member row changed meanwhile; either way
    the caller rolls back.
    """
    if not new.messages:
        return
    conn = await session.connection()
    moved = [(member, old) for member, old in new.moved.values()]
    messages = [{k: getattr(m, k) for k in _MESSAGE_COLUMNS} for m in new.messages]
    try:
        if is_postgres(session):
            sql, names = _pg_store()
            params = _MESSAGE_WRITE.pg_params(conn.dialect, "m", messages) | {
                "at": at,
                "cids": list(counters),
                "cseqs": list(counters.values()),
                "ids": [m.id for m, _ in moved],
                "old": [old for _, old in moved],
                "seqs": [m.last_read_seq for m, _ in moved],
                "new": [m.version for m, _ in moved],
            }
            updated = len((await conn.exec_driver_sql(sql, tuple(params[n] for n in names))).all())
        else:
            await _MESSAGE_WRITE.execute(session, messages)
            await conn.execute(
                update(_CONVERSATIONS)
                .where(_CONVERSATIONS.c.id == bindparam("cid"))
                .values(last_seq=bindparam("seq"), last_message_at=bindparam("at")),
                [{"cid": cid, "seq": seq, "at": at} for cid, seq in counters.items()],
            )
            result = await conn.execute(
                update(_MEMBERS)
                .where(_MEMBERS.c.id == bindparam("mid"), _MEMBERS.c.version == bindparam("old"))
                .values(last_read_seq=bindparam("seq"), version=bindparam("new")),
                [{"mid": m.id, "old": old, "seq": m.last_read_seq, "new": m.version} for m, old in moved],
            )
            updated = result.rowcount
    except IntegrityError:
        raise errors.ClientMessageIdReused("that client message id is already in use") from None
    if updated != len(moved):
        raise StaleDataError("a member row changed while its messages were stored")
    sync = session.sync_session
    for msg in new.messages:
        make_transient_to_detached(msg)
        sync.add(msg)
        note_inserted(session, msg)
    await session.run_sync(lambda s: write_changes(s, new.changes))
