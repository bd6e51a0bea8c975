"""just-in-time elevation: access assignments gain eligible roles with their limits
(minutes, approval, approver group), activations, the customer's opt-in to approve a
partner's Global Administrator itself, and when a token's second factor was proven

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("access_assignments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("eligible_roles", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.add_column(
            sa.Column("max_activation_minutes", sa.Integer(), server_default="60", nullable=False)
        )
        batch_op.add_column(
            sa.Column("approval_required", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("approver_group_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_access_assignments_approver_group_id"),
            ["approver_group_id"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_access_assignments_approver_group_id_groups"),
            "groups",
            ["approver_group_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("partner_policies", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "require_customer_approval_for_global_admin",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
            )
        )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mfa_at", sa.DateTime(timezone=True), nullable=True))
    # A token of the previous release proved its second factor when it was issued.
    op.execute("UPDATE api_tokens SET mfa_at = created_at WHERE mfa")
    op.create_table(
        "activations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("partner_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("customer_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("relationship_id", sa.Uuid(), nullable=False),
        sa.Column("assignment_id", sa.Uuid(), nullable=True),
        sa.Column("requester_user_id", sa.Uuid(), nullable=False),
        sa.Column("requester_upn", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("justification", sa.String(length=500), nullable=False),
        sa.Column("ticket", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pending_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("partner_approval_required", sa.Boolean(), nullable=False),
        sa.Column("approver_group_id", sa.Uuid(), nullable=True),
        sa.Column("partner_approved_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("partner_approved_by_upn", sa.String(length=320), nullable=True),
        sa.Column("partner_approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("customer_approval_required", sa.Boolean(), nullable=False),
        sa.Column("customer_approved_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("customer_approved_by_upn", sa.String(length=320), nullable=True),
        sa.Column("customer_approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("denied_by", sa.String(length=16), nullable=True),
        sa.Column("denied_by_upn", sa.String(length=320), nullable=True),
        sa.Column("denied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=16), nullable=True),
        sa.Column("ended_by_upn", sa.String(length=320), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending_approval', 'active', 'denied', 'ended')",
            name=op.f("ck_activations_status"),
        ),
        sa.CheckConstraint("minutes >= 30 AND minutes <= 480", name=op.f("ck_activations_minutes")),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["access_assignments.id"],
            name=op.f("fk_activations_assignment_id_access_assignments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_tenant_id"],
            ["tenants.id"],
            name=op.f("fk_activations_customer_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["partner_tenant_id"],
            ["tenants.id"],
            name=op.f("fk_activations_partner_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["relationship_id"],
            ["relationships.id"],
            name=op.f("fk_activations_relationship_id_relationships"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activations")),
    )
    op.create_index(
        "ix_activations_customer_tenant_id_requested_at",
        "activations",
        ["customer_tenant_id", "requested_at"],
        unique=False,
    )
    op.create_index(
        "ix_activations_partner_tenant_id_requested_at",
        "activations",
        ["partner_tenant_id", "requested_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_activations_relationship_id"), "activations", ["relationship_id"], unique=False
    )
    op.create_index(
        "ix_activations_requester_user_id_status",
        "activations",
        ["requester_user_id", "status"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_activations_requester_user_id_status", table_name="activations")
    op.drop_index(op.f("ix_activations_relationship_id"), table_name="activations")
    op.drop_index("ix_activations_partner_tenant_id_requested_at", table_name="activations")
    op.drop_index("ix_activations_customer_tenant_id_requested_at", table_name="activations")
    op.drop_table("activations")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("mfa_at")
    with op.batch_alter_table("partner_policies", schema=None) as batch_op:
        batch_op.drop_column("require_customer_approval_for_global_admin")
    with op.batch_alter_table("access_assignments", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_access_assignments_approver_group_id_groups"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_access_assignments_approver_group_id"))
        batch_op.drop_column("approver_group_id")
        batch_op.drop_column("approval_required")
        batch_op.drop_column("max_activation_minutes")
        batch_op.drop_column("eligible_roles")
