"""organisation cards: every organisation's row is also in its own ``orgcard:<id>`` scope, which
its trading partners pull (a supplier sees its distributors' names on their orders and claims)

Data only: each organisation's latest change in ``org:<id>`` is copied into ``orgcard:<id>``
(change log and ``scope_rows``), as the recording hooks now do for every new write. The digest is
:func:`backend.changefeed.recording.row_digest`, frozen here.

Revision ID: 0012_org_cards
Revises: 0011_console_speed
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_org_cards"
down_revision: str | Sequence[str] | None = "0011_console_speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _digest(entity: str, entity_id: str, version: int) -> int:
    raw = hashlib.blake2b(f"{entity}:{entity_id}:{version}".encode(), digest_size=4).digest()
    return int.from_bytes(raw, "big")


def upgrade() -> None:
    bind = op.get_bind()
    tx = "(pg_current_xact_id()::text)::bigint" if bind.dialect.name == "postgresql" else "0"
    bind.execute(
        sa.text(
            "INSERT INTO change_log (tx, scope, entity, entity_id, op, version, data, changed_at) "
            f"SELECT {tx}, 'orgcard:' || s.entity_id, s.entity, s.entity_id, c.op, s.version, c.data, "
            "c.changed_at FROM scope_rows s JOIN change_log c ON c.id = s.change_id "
            "WHERE s.entity = 'organisation' AND s.scope = 'org:' || s.entity_id "
            "AND NOT EXISTS (SELECT 1 FROM scope_rows t WHERE t.scope = 'orgcard:' || s.entity_id "
            "AND t.entity = 'organisation' AND t.entity_id = s.entity_id) "
            "ORDER BY s.entity_id"
        )
    )
    copied = bind.execute(
        sa.text(
            "SELECT c.id, c.scope, c.entity_id, c.version FROM change_log c "
            "WHERE c.entity = 'organisation' AND c.scope = 'orgcard:' || c.entity_id AND NOT EXISTS "
            "(SELECT 1 FROM scope_rows t WHERE t.scope = c.scope AND t.entity = c.entity "
            "AND t.entity_id = c.entity_id)"
        )
    ).all()
    if copied:
        bind.execute(
            sa.text(
                "INSERT INTO scope_rows (scope, entity, entity_id, version, digest, change_id) "
                "VALUES (:scope, 'organisation', :entity_id, :version, :digest, :change_id)"
            ),
            [
                {
                    "scope": r.scope,
                    "entity_id": r.entity_id,
                    "version": r.version,
                    "digest": _digest("organisation", r.entity_id, r.version),
                    "change_id": r.id,
                }
                for r in copied
            ],
        )


def downgrade() -> None:
    op.execute("DELETE FROM scope_rows WHERE scope LIKE 'orgcard:%'")
    op.execute("DELETE FROM change_log WHERE scope LIKE 'orgcard:%'")
