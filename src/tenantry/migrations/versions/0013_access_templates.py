"""access templates: a partner's named sets of group terms, and the template an access
assignment was made by (a plain added column without a foreign key: recreating access_assignments
in SQLite would drop the rows that reference it by cascade)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_templates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("partner_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_tenant_id"],
            ["tenants.id"],
            name=op.f("fk_access_templates_partner_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_templates")),
        sa.UniqueConstraint(
            "partner_tenant_id", "name", name=op.f("uq_access_templates_partner_tenant_id_name")
        ),
    )
    op.create_table(
        "access_template_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("template_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("eligible_roles", sa.JSON(), nullable=False),
        sa.Column("max_activation_minutes", sa.Integer(), nullable=False),
        sa.Column("approval_required", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("approver_group_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["approver_group_id"],
            ["groups.id"],
            name=op.f("fk_access_template_entries_approver_group_id_groups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_access_template_entries_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["access_templates.id"],
            name=op.f("fk_access_template_entries_template_id_access_templates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_template_entries")),
        sa.UniqueConstraint(
            "template_id", "group_id", name=op.f("uq_access_template_entries_template_id_group_id")
        ),
    )
    op.create_index(
        op.f("ix_access_template_entries_group_id"),
        "access_template_entries",
        ["group_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_access_template_entries_approver_group_id"),
        "access_template_entries",
        ["approver_group_id"],
        unique=False,
    )
    # A plain ALTER TABLE ... ADD COLUMN, never a batch recreate (which in SQLite drops the
    # rows that reference access_assignments). No foreign key: SQLite can't add one to an
    # existing table without recreating it, so the template's delete clears it instead.
    op.add_column("access_assignments", sa.Column("template_id", sa.Uuid(), nullable=True))
    op.create_index(
        op.f("ix_access_assignments_template_id"),
        "access_assignments",
        ["template_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_access_assignments_template_id"), table_name="access_assignments")
    op.drop_column("access_assignments", "template_id")
    op.drop_index(
        op.f("ix_access_template_entries_approver_group_id"), table_name="access_template_entries"
    )
    op.drop_index(op.f("ix_access_template_entries_group_id"), table_name="access_template_entries")
    op.drop_table("access_template_entries")
    op.drop_table("access_templates")
