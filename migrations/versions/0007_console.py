"""support desk (issue 16): teams, presence, labels, macros, SLA breaches, CSAT, ticket
fields, message meta, order and delivery numbers, and full-text search over messages and
subjects (PostgreSQL: GIN expression indexes; SQLite: FTS5 tables kept by triggers)

Revision ID: 0007_console
Revises: 0007_deploy
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql, sqlite

import backend.db

revision: str = "0007_console"
down_revision: str | Sequence[str] | None = "0007_deploy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return (
        sa.JSON()
        .with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
        .with_variant(sqlite.JSON(), "sqlite")
    )


def _utc() -> sa.types.TypeEngine:
    return backend.db.UtcDateTime(timezone=True)


# Kept in step with backend/messaging/search.py (SQLITE_FTS, PG_INDEXES).
SQLITE_FTS = [
    "CREATE VIRTUAL TABLE messages_fts USING fts5(body, content='messages', content_rowid='rowid',"
    " tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN"
    " INSERT INTO messages_fts(rowid, body) VALUES (new.rowid, new.body); END",
    "CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN"
    " INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body); END",
    "CREATE TRIGGER messages_fts_au AFTER UPDATE OF body ON messages BEGIN"
    " INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);"
    " INSERT INTO messages_fts(rowid, body) VALUES (new.rowid, new.body); END",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
    "CREATE VIRTUAL TABLE subjects_fts USING fts5(title, content='conversations', content_rowid='rowid',"
    " tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER subjects_fts_ai AFTER INSERT ON conversations BEGIN"
    " INSERT INTO subjects_fts(rowid, title) VALUES (new.rowid, new.title); END",
    "CREATE TRIGGER subjects_fts_ad AFTER DELETE ON conversations BEGIN"
    " INSERT INTO subjects_fts(subjects_fts, rowid, title) VALUES ('delete', old.rowid, old.title); END",
    "CREATE TRIGGER subjects_fts_au AFTER UPDATE OF title ON conversations BEGIN"
    " INSERT INTO subjects_fts(subjects_fts, rowid, title) VALUES ('delete', old.rowid, old.title);"
    " INSERT INTO subjects_fts(rowid, title) VALUES (new.rowid, new.title); END",
    "INSERT INTO subjects_fts(subjects_fts) VALUES ('rebuild')",
]
PG_SEARCH = [
    "CREATE INDEX ix_messages_body_fts ON messages USING gin (to_tsvector('simple', body))",
    "CREATE INDEX ix_conversations_title_fts ON conversations USING gin (to_tsvector('simple', title))",
    "CREATE SEQUENCE IF NOT EXISTS number_seq_po",
    "CREATE SEQUENCE IF NOT EXISTS number_seq_so",
    "CREATE SEQUENCE IF NOT EXISTS number_seq_dn",
]


def upgrade() -> None:
    op.create_table(
        "support_teams",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("lead_id", sa.String(length=32), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("hours", _json(), nullable=False),
        sa.Column("holidays", _json(), nullable=False),
        sa.Column("first_response_s", sa.Integer(), nullable=False),
        sa.Column("next_response_s", sa.Integer(), nullable=False),
        sa.Column("resolution_s", sa.Integer(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["users.id"], name=op.f("fk_support_teams_lead_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_support_teams_name")),
    )
    op.create_table(
        "support_agents",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=True),
        sa.Column("last_assigned_at", _utc(), nullable=True),
        sa.Column("status_changed_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["support_teams.id"], name=op.f("fk_support_agents_team_id_support_teams")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_support_agents_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_support_agents")),
    )
    op.create_table(
        "conversation_labels",
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_labels_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", "label", name=op.f("pk_conversation_labels")),
    )
    op.create_index(op.f("ix_conversation_labels_label"), "conversation_labels", ["label"], unique=False)
    op.create_table(
        "support_macros",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("reply_body", sa.Text(), nullable=False),
        sa.Column("add_labels", _json(), nullable=False),
        sa.Column("assign_to", sa.String(length=32), nullable=True),
        sa.Column("resolve", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_support_macros_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_macros")),
        sa.UniqueConstraint("title", name=op.f("uq_support_macros_title")),
    )
    op.create_table(
        "support_sla_breaches",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("due_at", _utc(), nullable=False),
        sa.Column("breached_at", _utc(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=True),
        sa.Column("agent_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_support_sla_breaches_agent_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_support_sla_breaches_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["support_teams.id"], name=op.f("fk_support_sla_breaches_team_id_support_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_sla_breaches")),
        sa.UniqueConstraint(
            "conversation_id", "target", "due_at", name=op.f("uq_support_sla_breaches_conversation_id")
        ),
    )
    op.create_table(
        "support_csat",
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("agent_id", sa.String(length=32), nullable=True),
        sa.Column("team_id", sa.String(length=32), nullable=True),
        sa.Column("request_message_id", sa.String(length=32), nullable=True),
        sa.Column("requested_at", _utc(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rated_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["users.id"], name=op.f("fk_support_csat_agent_id_users")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_support_csat_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["support_teams.id"], name=op.f("fk_support_csat_team_id_support_teams")
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_support_csat")),
    )
    op.create_index(op.f("ix_support_csat_rated_at"), "support_csat", ["rated_at"], unique=False)
    # Plain ADD COLUMNs (no table rebuild on SQLite: the FTS triggers below stay attached).
    op.add_column("conversations", sa.Column("team_id", sa.String(length=32), nullable=True))
    op.add_column("conversations", sa.Column("snoozed_until", _utc(), nullable=True))
    op.add_column("conversations", sa.Column("next_response_due_at", _utc(), nullable=True))
    op.add_column("conversations", sa.Column("resolution_due_at", _utc(), nullable=True))
    op.add_column("conversations", sa.Column("merged_into_id", sa.String(length=32), nullable=True))
    op.create_index(op.f("ix_conversations_team_id"), "conversations", ["team_id"], unique=False)
    op.add_column("messages", sa.Column("meta", _json(), nullable=True))
    op.add_column("orders", sa.Column("number", sa.String(length=20), nullable=True))
    op.create_index(op.f("ix_orders_number"), "orders", ["number"], unique=True)
    op.add_column("deliveries", sa.Column("number", sa.String(length=20), nullable=True))
    op.create_index(op.f("ix_deliveries_number"), "deliveries", ["number"], unique=True)
    for statement in SQLITE_FTS if op.get_bind().dialect.name == "sqlite" else PG_SEARCH:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in (
            "messages_fts_ai",
            "messages_fts_ad",
            "messages_fts_au",
            "subjects_fts_ai",
            "subjects_fts_ad",
            "subjects_fts_au",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS messages_fts")
        op.execute("DROP TABLE IF EXISTS subjects_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_messages_body_fts")
        op.execute("DROP INDEX IF EXISTS ix_conversations_title_fts")
        for seq in ("number_seq_po", "number_seq_so", "number_seq_dn"):
            op.execute(f"DROP SEQUENCE IF EXISTS {seq}")
    op.drop_index(op.f("ix_deliveries_number"), table_name="deliveries")
    op.drop_column("deliveries", "number")
    op.drop_index(op.f("ix_orders_number"), table_name="orders")
    op.drop_column("orders", "number")
    op.drop_column("messages", "meta")
    op.drop_index(op.f("ix_conversations_team_id"), table_name="conversations")
    for column in ("merged_into_id", "resolution_due_at", "next_response_due_at", "snoozed_until", "team_id"):
        op.drop_column("conversations", column)
    op.drop_table("support_csat")
    op.drop_table("support_sla_breaches")
    op.drop_table("support_macros")
    op.drop_index(op.f("ix_conversation_labels_label"), table_name="conversation_labels")
    op.drop_table("conversation_labels")
    op.drop_table("support_agents")
    op.drop_table("support_teams")
