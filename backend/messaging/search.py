"""Full-text search over support messages and subjects, for the console.

PostgreSQL: GIN indexes on ``to_tsvector('simple', body)`` and ``… title`` (expression indexes,
so every write — the REST send, a sync push, the socket's batched writer — keeps them in step
without any code of ours). SQLite: FTS5 tables with external content (``messages_fts``,
``subjects_fts``) kept in step by triggers on ``messages`` and ``conversations`` (migration
0007_console). Both tokenise words (``simple`` / ``unicode61``): a run of Chinese characters
without spaces is one word, so Chinese is found by whole runs, not by a part of one.

Newest first means by id on PostgreSQL (ids are time-ordered, :func:`backend.db.new_id`): for a
word in a third of the messages the planner then walks the primary key backwards and stops after
a page (5 ms over 1,000,000 messages) instead of sorting every match by time (1.2 s); a rare word
still goes through the GIN index. SQLite walks the FTS5 rowids backwards, the same idea.

A query is reduced to at most :data:`MAX_TERMS` words (letters and digits only, so nothing
the user types can reach the query syntax); every word must match, the last one as a prefix.
Hits are newest first; the matched words come back wrapped in :data:`MARK_START` /
:data:`MARK_END` so the console can highlight them without trusting any HTML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import UtcDateTime

MAX_TERMS = 8
MARK_START, MARK_END = "\ue000", "\ue001"
WORD = re.compile(r"\w+", re.UNICODE)
#: Database objects migration 0007_console creates outside the models (the migrations test skips them).
UNMODELLED = frozenset(
    {
        "messages_fts",
        "subjects_fts",
        *(
            f"{t}_fts_{s}"
            for t in ("messages", "subjects")
            for s in ("data", "idx", "content", "docsize", "config")
        ),
        "ix_messages_body_fts",
        "ix_conversations_title_fts",
    }
)


@dataclass(frozen=True, slots=True)
class Hit:
    conversation_id: str
    title: str
    message_id: str | None
    seq: int | None
    snippet: str
    created_at: datetime | None


def terms(query: str) -> list[str]:
    return [w.lower() for w in WORD.findall(query)][:MAX_TERMS]


def _fts5_query(words: list[str]) -> str:
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def _pg_query(words: list[str]) -> str:
    return " & ".join([*words[:-1], words[-1] + ":*"])


_TS = UtcDateTime()


def _ts(value: object) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return _TS.process_result_value(value, None)  # type: ignore[arg-type]
    return _TS.process_result_value(datetime.fromisoformat(str(value)), None)


async def search(session: AsyncSession, query: str, *, limit: int = 50) -> list[Hit]:
    """Support messages and subjects matching every word of ``query`` (agents only: the caller checks)."""
    words = terms(query)
    if not words:
        return []
    pg = session.bind is not None and session.bind.dialect.name == "postgresql"
    params = {"q": _pg_query(words) if pg else _fts5_query(words), "limit": limit}
    if pg:
        subjects = text(
            "SELECT c.id, ts_headline('simple', c.title, to_tsquery('simple', :q), "
            "'StartSel=\ue000, StopSel=\ue001, HighlightAll=true') AS snip, c.created_at "
            "FROM conversations c WHERE c.kind = 'support' "
            "AND to_tsvector('simple', c.title) @@ to_tsquery('simple', :q) "
            "ORDER BY c.created_at DESC LIMIT :limit"
        )
        messages = text(
            "SELECT m.conversation_id, c.title, m.id, m.seq, ts_headline('simple', m.body, "
            "to_tsquery('simple', :q), 'StartSel=\ue000, StopSel=\ue001, MaxWords=24, MinWords=8') AS snip, "
            "m.created_at FROM (SELECT id, conversation_id, seq, body, created_at FROM messages "
            "WHERE to_tsvector('simple', body) @@ to_tsquery('simple', :q) "
            "ORDER BY id DESC LIMIT :scan) m JOIN conversations c ON c.id = m.conversation_id "
            "WHERE c.kind = 'support' ORDER BY m.id DESC LIMIT :limit"
        )
    else:
        subjects = text(
            "SELECT c.id, highlight(subjects_fts, 0, char(57344), char(57345)) AS snip, c.created_at "
            "FROM subjects_fts JOIN conversations c ON c.rowid = subjects_fts.rowid "
            "WHERE subjects_fts MATCH :q AND c.kind = 'support' "
            "ORDER BY subjects_fts.rowid DESC LIMIT :limit"
        )
        messages = text(
            "SELECT m.conversation_id, c.title, m.id, m.seq, "
            "snippet(messages_fts, 0, char(57344), char(57345), '…', 16) AS snip, m.created_at "
            "FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid "
            "JOIN conversations c ON c.id = m.conversation_id "
            "WHERE messages_fts MATCH :q AND c.kind = 'support' "
            "ORDER BY messages_fts.rowid DESC LIMIT :limit"
        )
    hits = [
        Hit(cid, "", None, None, snip, _ts(at))
        for cid, snip, at in (await session.execute(subjects, params)).tuples()
    ]
    titles = {h.conversation_id: h.snippet.replace(MARK_START, "").replace(MARK_END, "") for h in hits}
    rows = await session.execute(messages, {**params, "scan": limit * 4})
    hits += [Hit(cid, title, mid, seq, snip, _ts(at)) for cid, title, mid, seq, snip, at in rows.tuples()]
    return [
        Hit(
            h.conversation_id,
            h.title or titles.get(h.conversation_id, ""),
            h.message_id,
            h.seq,
            h.snippet,
            h.created_at,
        )
        for h in hits
    ]
