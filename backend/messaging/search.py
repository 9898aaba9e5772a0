"""Full-text search over support messages and subjects, for the console.

PostgreSQL: GIN indexes on ``to_tsvector('simple', fieldsync_fts_text(body))`` and ``… title``
(expression indexes, so every write — the REST send, a sync push, the socket's batched writer —
keeps them in step without any code of ours). SQLite: FTS5 tables with external content
(``messages_fts``, ``subjects_fts``) kept in step by triggers on ``messages`` and
``conversations``. Both index words (``simple`` / ``unicode61``) and Chinese, Japanese and
Korean as overlapping two-character pieces (:mod:`backend.search_text`), so ``订单`` finds
``我的订单没到``.

Newest first, on PostgreSQL, two ways chosen by the planner's estimate of the matches
(:data:`DENSE_ROWS`): for a word in many messages, by the time-ordered id
(:func:`backend.db.new_id`), so the primary key is walked backwards and the walk stops after a
page (a word in a third of 1,000,000 messages: 5 ms, against 1.2 s to sort every match by time);
for a rarer word, every match through the GIN index, only the ids and times, the newest page
kept (top-N), then those rows read. SQLite walks the FTS5 rowids backwards, which is cheap
either way.

A query is reduced to at most :data:`MAX_TERMS` words (letters and digits only, so nothing
the user types can reach the query syntax); every word must match, the last one as a prefix.
Hits are newest first; the matched words come back wrapped in :data:`MARK_START` /
:data:`MARK_END` (highlighted here, from the stored text) so the console can highlight them
without trusting any HTML.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import UtcDateTime
from backend.search_text import MARK_END, MARK_START, fts5_query, highlight, pg_query

MAX_TERMS = 8
#: Above this many expected matches (PostgreSQL's estimate), newest-first walks the primary key
#: backwards and filters; below, the GIN index finds every match and they are sorted by time.
DENSE_ROWS = 20_000
__all__ = ["MARK_END", "MARK_START", "Hit", "search", "terms"]
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
        "ix_conversations_live_queue",  # an expression index with a WHERE (0011_console_speed)
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


#: The indexed expressions on PostgreSQL (migration 0011_console_speed); queries repeat them.
PG_BODY = "to_tsvector('simple', fieldsync_fts_text(body))"
PG_TITLE = "to_tsvector('simple', fieldsync_fts_text(title))"
PG_INDEXES = {
    "ix_messages_body_fts": f"CREATE INDEX ix_messages_body_fts ON messages USING gin ({PG_BODY})",
    "ix_conversations_title_fts": (
        f"CREATE INDEX ix_conversations_title_fts ON conversations USING gin ({PG_TITLE})"
    ),
}


_TS = UtcDateTime()


def _ts(value: object) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return _TS.process_result_value(value, None)  # type: ignore[arg-type]
    return _TS.process_result_value(datetime.fromisoformat(str(value)), None)


async def _pg_dense(session: AsyncSession, pg_query: str) -> bool:
    """Does the planner expect the words in more than :data:`DENSE_ROWS` messages?"""
    plan = await session.scalar(
        text(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM messages WHERE {PG_BODY} @@ to_tsquery('simple', :q)"),
        {"q": pg_query},
    )
    doc = json.loads(plan) if isinstance(plan, str) else plan
    return float(doc[0]["Plan"]["Plan Rows"]) > DENSE_ROWS


async def search(session: AsyncSession, query: str, *, limit: int = 50) -> list[Hit]:
    """Support messages and subjects matching every word of ``query`` (agents only: the caller checks)."""
    words = terms(query)
    if not words:
        return []
    pg = session.bind is not None and session.bind.dialect.name == "postgresql"
    params = {"q": pg_query(words) if pg else fts5_query(words), "limit": limit}
    if pg:
        subjects = text(
            "SELECT c.id, c.title, c.created_at FROM conversations c WHERE c.kind = 'support' "
            f"AND {PG_TITLE.replace('title', 'c.title')} @@ to_tsquery('simple', :q) "
            "ORDER BY c.created_at DESC LIMIT :limit"
        )
        order = "id DESC" if await _pg_dense(session, params["q"]) else "created_at DESC"
        # only (id, created_at) of the matches, the newest :scan kept, then their rows read
        messages = text(
            "SELECT m.conversation_id, c.title, m.id, m.seq, m.body, m.created_at "
            f"FROM (SELECT id, created_at FROM messages WHERE {PG_BODY} @@ to_tsquery('simple', :q) "
            f"ORDER BY {order} LIMIT :scan) p JOIN messages m ON m.id = p.id "
            "JOIN conversations c ON c.id = m.conversation_id "
            f"WHERE c.kind = 'support' ORDER BY p.{order} LIMIT :limit"
        )
    else:
        subjects = text(
            "SELECT c.id, c.title, c.created_at "
            "FROM subjects_fts JOIN conversations c ON c.rowid = subjects_fts.rowid "
            "WHERE subjects_fts MATCH :q AND c.kind = 'support' "
            "ORDER BY subjects_fts.rowid DESC LIMIT :limit"
        )
        messages = text(
            "SELECT m.conversation_id, c.title, m.id, m.seq, m.body, m.created_at "
            "FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid "
            "JOIN conversations c ON c.id = m.conversation_id "
            "WHERE messages_fts MATCH :q AND c.kind = 'support' "
            "ORDER BY messages_fts.rowid DESC LIMIT :limit"
        )
    hits = [
        Hit(cid, title or "", None, None, highlight(title or "", words), _ts(at))
        for cid, title, at in (await session.execute(subjects, params)).tuples()
    ]
    rows = await session.execute(messages, {**params, "scan": limit * 4})
    hits += [
        Hit(cid, title or "", mid, seq, highlight(body or "", words, snippet=True), _ts(at))
        for cid, title, mid, seq, body, at in rows.tuples()
    ]
    return hits
