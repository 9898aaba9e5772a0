"""orders, deliveries, acceptances, claims (issue 4)

Revision ID: 0002_orders
Revises: 0001_foundation
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql, sqlite

import backend.db

revision: str = "0002_orders"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", backend.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", backend.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("region_id", sa.String(length=32), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("total_minor", sa.Integer(), nullable=True),
        sa.Column("submitted_at", backend.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("submitted_by", sa.String(length=32), nullable=True),
        sa.Column("confirmed_at", backend.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("shipped_at", backend.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", backend.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", backend.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=32), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("distributor_id", sa.String(length=32), nullable=False),
        sa.Column("supplier_id", sa.String(length=32), nullable=True),
        sa.Column("terminal_id", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["distributor_id"], ["organisations.id"], name=op.f("fk_orders_distributor_id_organisations")
        ),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"], name=op.f("fk_orders_region_id_regions")),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["organisations.id"], name=op.f("fk_orders_supplier_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["organisations.id"], name=op.f("fk_orders_terminal_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_distributor_id"), ["distributor_id"], unique=False)
        batch_op.create_index("ix_orders_state", ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_supplier_id"), ["supplier_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_terminal_id"), ["terminal_id"], unique=False)

    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("delivery_note", sa.Text(), nullable=False),
        sa.Column("shipped_at", backend.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("shipped_by", sa.String(length=32), nullable=False),
        sa.Column("accepted_at", backend.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("distributor_id", sa.String(length=32), nullable=False),
        sa.Column("supplier_id", sa.String(length=32), nullable=True),
        sa.Column("terminal_id", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["distributor_id"], ["organisations.id"], name=op.f("fk_deliveries_distributor_id_organisations")
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_deliveries_order_id_orders")),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["organisations.id"], name=op.f("fk_deliveries_supplier_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["organisations.id"], name=op.f("fk_deliveries_terminal_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("order_id", name=op.f("uq_deliveries_order_id")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliveries_distributor_id"), ["distributor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deliveries_supplier_id"), ["supplier_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deliveries_terminal_id"), ["terminal_id"], unique=False)

    op.create_table(
        "acceptances",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("delivery_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("recorded_by", sa.String(length=32), nullable=False),
        sa.Column("device_id", sa.String(length=32), nullable=True),
        sa.Column("accepted_at", backend.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", backend.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("gps_lat", sa.Float(), nullable=True),
        sa.Column("gps_lon", sa.Float(), nullable=True),
        sa.Column("signature_sha256", sa.String(length=64), nullable=True),
        sa.Column(
            "photo_sha256s",
            sa.JSON()
            .with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
            .with_variant(sqlite.JSON(), "sqlite"),
            nullable=False,
        ),
        sa.Column("has_discrepancy", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("distributor_id", sa.String(length=32), nullable=False),
        sa.Column("supplier_id", sa.String(length=32), nullable=True),
        sa.Column("terminal_id", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["deliveries.id"], name=op.f("fk_acceptances_delivery_id_deliveries")
        ),
        sa.ForeignKeyConstraint(
            ["distributor_id"], ["organisations.id"], name=op.f("fk_acceptances_distributor_id_organisations")
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_acceptances_order_id_orders")),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["organisations.id"], name=op.f("fk_acceptances_supplier_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["organisations.id"], name=op.f("fk_acceptances_terminal_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acceptances")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_acceptances_delivery_id")),
    )
    with op.batch_alter_table("acceptances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_acceptances_distributor_id"), ["distributor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_acceptances_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_acceptances_supplier_id"), ["supplier_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_acceptances_terminal_id"), ["terminal_id"], unique=False)

    op.create_table(
        "order_lines",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.String(length=32), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("unit_price_minor", sa.Integer(), nullable=True),
        sa.Column("line_total_minor", sa.Integer(), nullable=True),
        sa.Column("updated_at", backend.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("distributor_id", sa.String(length=32), nullable=False),
        sa.Column("supplier_id", sa.String(length=32), nullable=True),
        sa.Column("terminal_id", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["distributor_id"], ["organisations.id"], name=op.f("fk_order_lines_distributor_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_lines_order_id_orders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_order_lines_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["organisations.id"], name=op.f("fk_order_lines_supplier_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["organisations.id"], name=op.f("fk_order_lines_terminal_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines")),
        sa.UniqueConstraint("order_id", "product_id", name=op.f("uq_order_lines_order_id")),
    )
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_lines_distributor_id"), ["distributor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_lines_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_lines_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_lines_supplier_id"), ["supplier_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_lines_terminal_id"), ["terminal_id"], unique=False)

    op.create_table(
        "claims",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("acceptance_id", sa.String(length=32), nullable=False),
        sa.Column("delivery_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("short_qty", sa.Integer(), nullable=False),
        sa.Column("damaged_qty", sa.Integer(), nullable=False),
        sa.Column("wrong_qty", sa.Integer(), nullable=False),
        sa.Column(
            "items",
            sa.JSON()
            .with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
            .with_variant(sqlite.JSON(), "sqlite"),
            nullable=False,
        ),
        sa.Column("opened_at", backend.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", backend.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=32), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("distributor_id", sa.String(length=32), nullable=False),
        sa.Column("supplier_id", sa.String(length=32), nullable=True),
        sa.Column("terminal_id", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["acceptance_id"], ["acceptances.id"], name=op.f("fk_claims_acceptance_id_acceptances")
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["deliveries.id"], name=op.f("fk_claims_delivery_id_deliveries")
        ),
        sa.ForeignKeyConstraint(
            ["distributor_id"], ["organisations.id"], name=op.f("fk_claims_distributor_id_organisations")
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_claims_order_id_orders")),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["organisations.id"], name=op.f("fk_claims_supplier_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["organisations.id"], name=op.f("fk_claims_terminal_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
        sa.UniqueConstraint("acceptance_id", name=op.f("uq_claims_acceptance_id")),
    )
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claims_delivery_id"), ["delivery_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_claims_distributor_id"), ["distributor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_claims_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_claims_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_claims_supplier_id"), ["supplier_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_claims_terminal_id"), ["terminal_id"], unique=False)

    op.create_table(
        "delivery_lines",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("delivery_id", sa.String(length=32), nullable=False),
        sa.Column("order_line_id", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.String(length=32), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("distributor_id", sa.String(length=32), nullable=False),
        sa.Column("supplier_id", sa.String(length=32), nullable=True),
        sa.Column("terminal_id", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_delivery_lines_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["distributor_id"],
            ["organisations.id"],
            name=op.f("fk_delivery_lines_distributor_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"], ["order_lines.id"], name=op.f("fk_delivery_lines_order_line_id_order_lines")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_delivery_lines_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["organisations.id"], name=op.f("fk_delivery_lines_supplier_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["organisations.id"], name=op.f("fk_delivery_lines_terminal_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_lines")),
        sa.UniqueConstraint("delivery_id", "product_id", name=op.f("uq_delivery_lines_delivery_id")),
    )
    with op.batch_alter_table("delivery_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_lines_delivery_id"), ["delivery_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_delivery_lines_distributor_id"), ["distributor_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_delivery_lines_supplier_id"), ["supplier_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_lines_terminal_id"), ["terminal_id"], unique=False)

    op.create_table(
        "quota_uses",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("quota_id", sa.String(length=32), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("created_at", backend.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_quota_uses_order_id_orders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["quota_id"], ["regional_quotas.id"], name=op.f("fk_quota_uses_quota_id_regional_quotas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota_uses")),
        sa.UniqueConstraint("order_id", "quota_id", name=op.f("uq_quota_uses_order_id")),
    )
    with op.batch_alter_table("quota_uses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quota_uses_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_quota_uses_quota_id"), ["quota_id"], unique=False)

    op.create_table(
        "acceptance_lines",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("acceptance_id", sa.String(length=32), nullable=False),
        sa.Column("delivery_line_id", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.String(length=32), nullable=False),
        sa.Column("shipped", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("short", sa.Integer(), nullable=False),
        sa.Column("damaged", sa.Integer(), nullable=False),
        sa.Column("wrong", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("distributor_id", sa.String(length=32), nullable=False),
        sa.Column("supplier_id", sa.String(length=32), nullable=True),
        sa.Column("terminal_id", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["acceptance_id"],
            ["acceptances.id"],
            name=op.f("fk_acceptance_lines_acceptance_id_acceptances"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["delivery_line_id"],
            ["delivery_lines.id"],
            name=op.f("fk_acceptance_lines_delivery_line_id_delivery_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["distributor_id"],
            ["organisations.id"],
            name=op.f("fk_acceptance_lines_distributor_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_acceptance_lines_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["organisations.id"], name=op.f("fk_acceptance_lines_supplier_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["organisations.id"], name=op.f("fk_acceptance_lines_terminal_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acceptance_lines")),
        sa.UniqueConstraint(
            "acceptance_id", "delivery_line_id", name=op.f("uq_acceptance_lines_acceptance_id")
        ),
    )
    with op.batch_alter_table("acceptance_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_acceptance_lines_acceptance_id"), ["acceptance_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_acceptance_lines_distributor_id"), ["distributor_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_acceptance_lines_supplier_id"), ["supplier_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_acceptance_lines_terminal_id"), ["terminal_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("acceptance_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_acceptance_lines_terminal_id"))
        batch_op.drop_index(batch_op.f("ix_acceptance_lines_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_acceptance_lines_distributor_id"))
        batch_op.drop_index(batch_op.f("ix_acceptance_lines_acceptance_id"))

    op.drop_table("acceptance_lines")
    with op.batch_alter_table("quota_uses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quota_uses_quota_id"))
        batch_op.drop_index(batch_op.f("ix_quota_uses_order_id"))

    op.drop_table("quota_uses")
    with op.batch_alter_table("delivery_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_lines_terminal_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_lines_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_lines_distributor_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_lines_delivery_id"))

    op.drop_table("delivery_lines")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claims_terminal_id"))
        batch_op.drop_index(batch_op.f("ix_claims_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_claims_state"))
        batch_op.drop_index(batch_op.f("ix_claims_order_id"))
        batch_op.drop_index(batch_op.f("ix_claims_distributor_id"))
        batch_op.drop_index(batch_op.f("ix_claims_delivery_id"))

    op.drop_table("claims")
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_lines_terminal_id"))
        batch_op.drop_index(batch_op.f("ix_order_lines_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_order_lines_product_id"))
        batch_op.drop_index(batch_op.f("ix_order_lines_order_id"))
        batch_op.drop_index(batch_op.f("ix_order_lines_distributor_id"))

    op.drop_table("order_lines")
    with op.batch_alter_table("acceptances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_acceptances_terminal_id"))
        batch_op.drop_index(batch_op.f("ix_acceptances_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_acceptances_order_id"))
        batch_op.drop_index(batch_op.f("ix_acceptances_distributor_id"))

    op.drop_table("acceptances")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_terminal_id"))
        batch_op.drop_index(batch_op.f("ix_deliveries_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_deliveries_distributor_id"))

    op.drop_table("deliveries")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_terminal_id"))
        batch_op.drop_index(batch_op.f("ix_orders_supplier_id"))
        batch_op.drop_index("ix_orders_state")
        batch_op.drop_index(batch_op.f("ix_orders_distributor_id"))

    op.drop_table("orders")
