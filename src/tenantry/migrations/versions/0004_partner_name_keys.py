"""partner names unique by their look-alike key: a column with a unique index replaces
the case-insensitive index of 0003, so the database decides races between renames and
enrolments (no lock, no reading every partner's name)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 08:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenantry.directory.tenants import name_key

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _key_partner_names(conn: sa.Connection) -> None:
    """Every partner gets its key; a later partner whose name looks like an earlier one's
    (0003 only compared case) gets a numbered name, which its admins can change."""
    rows = conn.execute(
        sa.text(
            "SELECT id, name FROM tenants WHERE is_partner "
            "ORDER BY partner_enrolled_at, created_at, id"
        )
    ).all()
    taken: set[str] = set()
    for tenant_id, name in rows:
        candidate, n = name, 1
        while name_key(candidate) in taken:
            n += 1
            candidate = f"{name} ({n})"
        taken.add(name_key(candidate))
        conn.execute(
            sa.text("UPDATE tenants SET name = :name, partner_name_key = :key WHERE id = :id"),
            {"name": candidate, "key": name_key(candidate), "id": tenant_id},
        )


def upgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partner_name_key", sa.String(length=256), nullable=True))
    _key_partner_names(op.get_bind())
    op.drop_index("uq_tenants_partner_name", table_name="tenants")
    # An index, not a constraint: SQLite would rebuild the table for a constraint and lose the
    # expression indexes reflection can't see.
    op.create_index(
        op.f("ix_tenants_partner_name_key"), "tenants", ["partner_name_key"], unique=True
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_tenants_partner_name_key"), table_name="tenants")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("partner_name_key")
    op.create_index(
        "uq_tenants_partner_name",
        "tenants",
        [sa.text("lower(name)")],
        unique=True,
        postgresql_where=sa.text("is_partner"),
        sqlite_where=sa.text("is_partner"),
    )
