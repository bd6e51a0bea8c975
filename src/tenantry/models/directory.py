"""Users, groups, memberships and role assignments of a tenant's directory."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.models.base import Base, EnumText, uuid_pk


class GroupKind(StrEnum):
    """Only security groups can hold roles; distribution groups are mailing lists."""

    SECURITY = "security"
    DISTRIBUTION = "distribution"


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        Index("ix_users_tenant_id_user_principal_name", "tenant_id", "user_principal_name"),
        Index("ix_users_tenant_id_display_name", "tenant_id", "display_name"),
        Index("ix_users_tenant_id_external_id", "tenant_id", "external_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    # Stored lower-case: a UPN is unique platform-wide whatever its case.
    user_principal_name: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(256))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    must_change_password: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    mfa_enabled: Mapped[bool] = mapped_column(default=False)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_pending_secret: Mapped[str | None] = mapped_column(String(64))
    # Last accepted TOTP time-step: a code can't be replayed.
    totp_last_counter: Mapped[int | None]
    last_sign_in_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Set by provisioning (SCIM): the identity system's id of the user, and its SCIM userName
    # when that is not the UPN itself (a bare name, or another letter case); None otherwise.
    external_id: Mapped[str | None] = mapped_column(String(512))
    user_name: Mapped[str | None] = mapped_column(String(320))


class Group(Base):
    __tablename__ = "groups"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        # One group per agent level and partner: agent groups are a kind, not a name.
        UniqueConstraint("tenant_id", "agent_level"),
        CheckConstraint("kind IN ('security', 'distribution')", name="kind"),
        Index("ix_groups_tenant_id_external_id", "tenant_id", "external_id"),
        CheckConstraint(
            "agent_level IS NULL OR (agent_level IN ('full', 'limited') AND kind = 'security')",
            name="agent_level",
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(256))
    kind: Mapped[GroupKind] = mapped_column(EnumText(GroupKind, 16))
    description: Mapped[str] = mapped_column(String(1024), default="")
    # Set on a partner's agent groups: "full" (*Admin agents*) or "limited" (*Helpdesk agents*).
    agent_level: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    # Set by provisioning (SCIM): the identity system's id of the group, and when provisioning
    # last changed it (its meta.lastModified; the creation time until then).
    external_id: Mapped[str | None] = mapped_column(String(512))
    updated_at: Mapped[datetime | None]


class GroupMember(Base):
    __tablename__ = "group_members"

    group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime]


class RoleAssignment(Base):
    __tablename__ = "role_assignments"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (group_id IS NULL)", name="exactly_one_principal"),
        UniqueConstraint("role", "user_id"),
        UniqueConstraint("role", "group_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
