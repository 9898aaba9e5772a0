"""support console (issue 16): the queue's order and counts from an index of live tickets, and
full-text search that finds Chinese words inside a run of characters (CJK bigrams)

- ``ix_conversations_live_queue``: support tickets not resolved, in the open view's order
  (waiting first, longest wait first), with every column the view predicates and the unread sum
  read, so the page walks it and stops, and the counts are index-only;
- ``ix_conversation_members_user_read``: an agent's memberships with their read markers;
- search: the indexed text goes through ``fieldsync_fts_text`` (``backend/search_text.py``): a
  SQL function on PostgreSQL (the GIN indexes are rebuilt on it), a Python function each SQLite
  connection registers (the FTS5 triggers call it; both FTS tables are filled again).

Revision ID: 0011_console_speed
Revises: 0010_edges_money
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_console_speed"
down_revision: str | Sequence[str] | None = "0010_edges_money"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Kept in step with backend/search_text.py (PG_FUNCTION) and backend/messaging/search.py (PG_INDEXES).
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
PG_FUNCTION = (
    "CREATE OR REPLACE FUNCTION fieldsync_fts_text(t text) RETURNS text "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$ "
    f"SELECT CASE WHEN t !~ '[{_CJK}]' THEN t ELSE ("
    f"SELECT string_agg(CASE WHEN s.p ~ '^[{_CJK}]' THEN ' ' || ("
    "SELECT string_agg(substr(s.p, i, 2), ' ' ORDER BY i) "
    "FROM generate_series(1, greatest(length(s.p) - 1, 1)) AS i) || ' ' ELSE s.p END, '' ORDER BY s.n) "
    f"FROM regexp_matches(t, '[{_CJK}]+|[^{_CJK}]+', 'g') WITH ORDINALITY AS m(a, n), "
    "LATERAL (SELECT m.a[1] AS p, m.n AS n) AS s) END $fn$"
)
PG_INDEXES = {
    "ix_messages_body_fts": ("messages", "body"),
    "ix_conversations_title_fts": ("conversations", "title"),
}
FTS5 = {"messages_fts": ("messages", "body"), "subjects_fts": ("conversations", "title")}


def _triggers(fts: str, table: str, col: str, wrap: str) -> list[str]:
    new, old = wrap.format(f"new.{col}"), wrap.format(f"old.{col}")
    return [
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN"
        f" INSERT INTO {fts}(rowid, {col}) VALUES (new.rowid, {new}); END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN"
        f" INSERT INTO {fts}({fts}, rowid, {col}) VALUES ('delete', old.rowid, {old}); END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {col} ON {table} BEGIN"
        f" INSERT INTO {fts}({fts}, rowid, {col}) VALUES ('delete', old.rowid, {old});"
        f" INSERT INTO {fts}(rowid, {col}) VALUES (new.rowid, {new}); END",
    ]


def _sqlite_fts(wrap: str) -> None:
    for fts, (table, col) in FTS5.items():
        for suffix in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
        for statement in _triggers(fts, table, col, wrap):
            op.execute(statement)
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('delete-all')")
        op.execute(f"INSERT INTO {fts}(rowid, {col}) SELECT rowid, {wrap.format(col)} FROM {table}")


def _pg_fts(wrap: str) -> None:
    for name, (table, col) in PG_INDEXES.items():
        op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute(f"CREATE INDEX {name} ON {table} USING gin (to_tsvector('simple', {wrap.format(col)}))")


def upgrade() -> None:
    op.create_index(
        "ix_conversations_live_queue",
        "conversations",
        [
            "kind",
            sa.text("(waiting_since IS NULL)"),
            "waiting_since",
            "created_at",
            "id",
            "status",
            "snoozed_until",
            "assignee_id",
            "last_seq",
        ],
        postgresql_where=sa.text("status <> 'resolved'"),
        sqlite_where=sa.text("status <> 'resolved'"),
    )
    op.create_index(
        "ix_conversation_members_user_read",
        "conversation_members",
        ["user_id", "conversation_id", "last_read_seq"],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        _pg_fts("fieldsync_fts_text({})")
    else:
        _sqlite_fts("fieldsync_fts_text({})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _pg_fts("{}")
        op.execute("DROP FUNCTION IF EXISTS fieldsync_fts_text(text)")
    else:
        _sqlite_fts("{}")
    op.drop_index("ix_conversation_members_user_read", table_name="conversation_members")
    op.drop_index("ix_conversations_live_queue", table_name="conversations")
