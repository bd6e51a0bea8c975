"""customer groups: a partner's groups of customers (static members, dynamic rules) and its
custom per-customer fields (issue 14)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_groups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("partner_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("updated_by_user_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint("kind IN ('static', 'dynamic')", name=op.f("ck_customer_groups_kind")),
        sa.ForeignKeyConstraint(
            ["partner_tenant_id"],
            ["tenants.id"],
            name=op.f("fk_customer_groups_partner_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_groups")),
        sa.UniqueConstraint(
            "partner_tenant_id", "name", name=op.f("uq_customer_groups_partner_tenant_id_name")
        ),
    )
    op.create_table(
        "customer_group_members",
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("customer_tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["customer_groups.id"],
            name=op.f("fk_customer_group_members_group_id_customer_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_tenant_id"],
            ["tenants.id"],
            name=op.f("fk_customer_group_members_customer_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "group_id", "customer_tenant_id", name=op.f("pk_customer_group_members")
        ),
    )
    op.create_index(
        "ix_customer_group_members_customer_tenant_id",
        "customer_group_members",
        ["customer_tenant_id"],
        unique=False,
    )
    op.create_table(
        "customer_fields",
        sa.Column("partner_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("customer_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_tenant_id"],
            ["tenants.id"],
            name=op.f("fk_customer_fields_partner_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_tenant_id"],
            ["tenants.id"],
            name=op.f("fk_customer_fields_customer_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "partner_tenant_id", "customer_tenant_id", "key", name=op.f("pk_customer_fields")
        ),
    )
    op.create_index(
        "ix_customer_fields_partner_tenant_id_key_value",
        "customer_fields",
        ["partner_tenant_id", "key", "value"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_customer_fields_partner_tenant_id_key_value", table_name="customer_fields")
    op.drop_table("customer_fields")
    op.drop_index(
        "ix_customer_group_members_customer_tenant_id", table_name="customer_group_members"
    )
    op.drop_table("customer_group_members")
    op.drop_table("customer_groups")
