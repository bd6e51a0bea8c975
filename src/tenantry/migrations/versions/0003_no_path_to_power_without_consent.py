"""no path to power without consent: agent groups are a kind, partner names are unique, one
open request per partner and customer, customers can block a partner, the partner-policy
opt-in for privileged roles

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AGENT_GROUP_NAMES = {"Admin agents": "full", "Helpdesk agents": "limited"}


def _mark_agent_groups(conn: sa.Connection) -> None:
    """Agent levels used to follow group names; from now on they follow this column."""
    partners = sa.text("SELECT id FROM tenants WHERE is_partner").columns(sa.column("id"))
    groups = sa.table("groups", sa.column("tenant_id"), sa.column("name"), sa.column("agent_level"))
    for name, level in AGENT_GROUP_NAMES.items():
        conn.execute(
            groups.update()
            .where(groups.c.name == name, groups.c.tenant_id.in_(partners))
            .values(agent_level=level)
        )


def _rename_duplicate_partners(conn: sa.Connection) -> None:
    """Before the unique index: a later partner that shares an earlier one's name (any case)
    gets a numbered name, which its admins can change."""
    rows = conn.execute(
        sa.text(
            "SELECT id, name FROM tenants WHERE is_partner "
            "ORDER BY partner_enrolled_at, created_at, id"
        )
    ).all()
    taken: set[str] = set()
    for tenant_id, name in rows:
        candidate, n = name, 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{name} ({n})"
        taken.add(candidate.lower())
        if candidate != name:
            conn.execute(
                sa.text("UPDATE tenants SET name = :name WHERE id = :id"),
                {"name": candidate, "id": tenant_id},
            )


def _close_duplicate_requests(conn: sa.Connection) -> None:
    """Before the unique index: of several pending requests of one partner to one customer,
    the newest stays; the others are withdrawn."""
    rows = conn.execute(
        sa.text(
            "SELECT id, partner_tenant_id, customer_tenant_id FROM relationships "
            "WHERE status = 'approval_pending' ORDER BY created_at DESC, id"
        )
    ).all()
    seen: set[tuple[object, object]] = set()
    for relationship_id, partner_id, customer_id in rows:
        if (partner_id, customer_id) in seen:
            conn.execute(
                sa.text(
                    "UPDATE relationships SET status = 'terminated', terminated_by = 'partner', "
                    "terminated_at = created_at, version = version + 1 WHERE id = :id"
                ),
                {"id": relationship_id},
            )
        seen.add((partner_id, customer_id))


def upgrade() -> None:
    conn = op.get_bind()
    op.create_table(
        "partner_blocks",
        sa.Column("customer_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("partner_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_tenant_id"],
            ["tenants.id"],
            name=op.f("fk_partner_blocks_customer_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["partner_tenant_id"],
            ["tenants.id"],
            name=op.f("fk_partner_blocks_partner_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "customer_tenant_id", "partner_tenant_id", name=op.f("pk_partner_blocks")
        ),
    )
    with op.batch_alter_table("partner_blocks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_blocks_partner_tenant_id"), ["partner_tenant_id"], unique=False
        )

    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agent_level", sa.String(length=16), nullable=True))
    _mark_agent_groups(conn)
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_groups_tenant_id_agent_level"), ["tenant_id", "agent_level"]
        )
        batch_op.create_check_constraint(
            "agent_level",
            "agent_level IS NULL OR (agent_level IN ('full', 'limited') AND kind = 'security')",
        )

    with op.batch_alter_table("partner_policies", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "allow_privileged_roles", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )

    _close_duplicate_requests(conn)
    with op.batch_alter_table("relationships", schema=None) as batch_op:
        batch_op.create_index(
            "uq_relationships_pending_partner_customer",
            ["partner_tenant_id", "customer_tenant_id"],
            unique=True,
            postgresql_where=sa.text("status = 'approval_pending'"),
            sqlite_where=sa.text("status = 'approval_pending'"),
        )

    _rename_duplicate_partners(conn)
    op.create_index(
        "uq_tenants_partner_name",
        "tenants",
        [sa.text("lower(name)")],
        unique=True,
        postgresql_where=sa.text("is_partner"),
        sqlite_where=sa.text("is_partner"),
    )


def downgrade() -> None:
    op.drop_index("uq_tenants_partner_name", table_name="tenants")
    with op.batch_alter_table("relationships", schema=None) as batch_op:
        batch_op.drop_index("uq_relationships_pending_partner_customer")
    with op.batch_alter_table("partner_policies", schema=None) as batch_op:
        batch_op.drop_column("allow_privileged_roles")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_groups_agent_level"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_groups_tenant_id_agent_level"), type_="unique")
        batch_op.drop_column("agent_level")
    with op.batch_alter_table("partner_blocks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_blocks_partner_tenant_id"))
    op.drop_table("partner_blocks")
