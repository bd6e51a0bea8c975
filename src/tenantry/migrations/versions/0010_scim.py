"""provisioning by SCIM 2.0: a tenant's provisioning tokens, users' and groups' externalId,
a user's SCIM userName where it is not the UPN, users' e-mail addresses, groups' last change

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-11 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scim_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_scim_tokens_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scim_tokens")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_scim_tokens_tenant_id_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_scim_tokens_token_hash")),
    )
    op.create_index(op.f("ix_scim_tokens_tenant_id"), "scim_tokens", ["tenant_id"], unique=False)
    op.create_table(
        "user_emails",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=True),
        sa.Column("display", sa.String(length=256), nullable=True),
        sa.Column("primary", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_emails_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "position", name=op.f("pk_user_emails")),
    )
    op.create_index("ix_user_emails_value", "user_emails", ["value"], unique=False)
    # Nullable columns added in place (no table copy on SQLite: see downgrade).
    op.add_column("users", sa.Column("external_id", sa.String(length=512), nullable=True))
    op.add_column("users", sa.Column("user_name", sa.String(length=320), nullable=True))
    op.create_index(
        "ix_users_tenant_id_external_id", "users", ["tenant_id", "external_id"], unique=False
    )
    op.add_column("groups", sa.Column("external_id", sa.String(length=512), nullable=True))
    op.add_column("groups", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_groups_tenant_id_external_id", "groups", ["tenant_id", "external_id"], unique=False
    )


def downgrade() -> None:
    # Not in batch mode: on SQLite that copies the table and drops the original, and dropping
    # users would cascade to every row that refers to it (tokens, memberships). SQLite (3.35+)
    # drops a column in place.
    op.drop_index("ix_groups_tenant_id_external_id", table_name="groups")
    op.drop_column("groups", "updated_at")
    op.drop_column("groups", "external_id")
    op.drop_index("ix_users_tenant_id_external_id", table_name="users")
    op.drop_column("users", "user_name")
    op.drop_column("users", "external_id")
    op.drop_index("ix_user_emails_value", table_name="user_emails")
    op.drop_table("user_emails")
    op.drop_index(op.f("ix_scim_tokens_tenant_id"), table_name="scim_tokens")
    op.drop_table("scim_tokens")
