"""passkeys: WebAuthn credentials as a second factor with the challenges of their ceremonies,
the factor a token was proven with (tokens of the previous release that had MFA were proven
with a TOTP code, the only factor there was), and a partner's requirement of a passkey for its
agents

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: the default is a literal ('0' is false to both databases), so SQLite
    # does not copy the table, whose DROP would cascade to every tenant's rows.
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "require_phishing_resistant_mfa", sa.Boolean(), server_default="0", nullable=False
            )
        )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("second_factor", sa.String(length=16), server_default="none", nullable=False)
        )
    # Before this release a token with MFA had proven a TOTP code: the only factor there was.
    op.execute("UPDATE api_tokens SET second_factor = 'totp' WHERE mfa")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_check_constraint(
            "second_factor", "second_factor IN ('none', 'totp', 'passkey')"
        )
        batch_op.create_check_constraint(
            "mfa_matches_second_factor", "mfa = (second_factor <> 'none')"
        )

    op.create_table(
        "passkeys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("credential_id", sa.LargeBinary(length=1023), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=2048), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("transports", sa.JSON(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("aaguid", sa.String(length=36), nullable=False),
        sa.Column("backup_eligible", sa.Boolean(), nullable=False),
        sa.Column("backed_up", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_passkeys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passkeys")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_passkeys_credential_id")),
    )
    with op.batch_alter_table("passkeys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_passkeys_user_id"), ["user_id"], unique=False)

    op.create_table(
        "webauthn_challenges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("challenge_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "purpose IN ('registration', 'sign_in')", name=op.f("ck_webauthn_challenges_purpose")
        ),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_tokens.id"],
            name=op.f("fk_webauthn_challenges_token_id_api_tokens"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_webauthn_challenges_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webauthn_challenges")),
        sa.UniqueConstraint("challenge_hash", name=op.f("uq_webauthn_challenges_challenge_hash")),
    )
    with op.batch_alter_table("webauthn_challenges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webauthn_challenges_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_webauthn_challenges_token_id"), ["token_id"], unique=False
        )
        batch_op.create_index(
            "ix_webauthn_challenges_user_id_purpose", ["user_id", "purpose"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webauthn_challenges", schema=None) as batch_op:
        batch_op.drop_index("ix_webauthn_challenges_user_id_purpose")
        batch_op.drop_index(batch_op.f("ix_webauthn_challenges_token_id"))
        batch_op.drop_index(batch_op.f("ix_webauthn_challenges_expires_at"))
    op.drop_table("webauthn_challenges")
    with op.batch_alter_table("passkeys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_passkeys_user_id"))
    op.drop_table("passkeys")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("ck_api_tokens_mfa_matches_second_factor"), type_="check"
        )
        batch_op.drop_constraint(batch_op.f("ck_api_tokens_second_factor"), type_="check")
        batch_op.drop_column("second_factor")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite's own DROP COLUMN (3.35+): a batch copy of tenants would drop the table, and
        # with it, through ON DELETE CASCADE, every tenant's rows.
        op.execute("ALTER TABLE tenants DROP COLUMN require_phishing_resistant_mfa")
    else:
        op.drop_column("tenants", "require_phishing_resistant_mfa")
