"""stored results looked up by mutation id first: ``sync_mutations``' unique key becomes
``(mutation_id, user_id, client_id)`` (was ``(user_id, client_id, mutation_id)``)

The same rows are unique. A push reads the stored results of its batch's ids; with the outbox's
columns leading both unique indexes, PostgreSQL's generic plan (it estimates an outbox at one
row) walked the outbox's whole history through either index and filtered the ids, so a push
cost grew with every mutation the phone had ever pushed (15,005 rows filtered, 50 ms, at 150
batches). With the id leading, the read probes the index once per id.

Revision ID: 0013_mutation_id_first
Revises: 0012_org_cards
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_mutation_id_first"
down_revision: str | Sequence[str] | None = "0012_org_cards"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_mutations") as batch:
        batch.drop_constraint("uq_sync_mutations_user_id", type_="unique")
        batch.create_unique_constraint(
            "uq_sync_mutations_mutation_id", ["mutation_id", "user_id", "client_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_mutations") as batch:
        batch.drop_constraint("uq_sync_mutations_mutation_id", type_="unique")
        batch.create_unique_constraint("uq_sync_mutations_user_id", ["user_id", "client_id", "mutation_id"])
