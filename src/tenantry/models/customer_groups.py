"""Customer groups and custom per-customer fields (issue 14): a partner's own, private
objects over its customers. Nothing here is the customer's data: a group's dynamic rule is
resolved per caller, under the delegated rule (partners/customer_group_rules.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.models.base import Base, EnumText, uuid_pk

MAX_FIELD_KEY = 64
MAX_FIELD_VALUE = 256


class CustomerGroupKind(StrEnum):
    """Static: the chosen customers. Dynamic: a rule (plus any chosen customers), resolved
    when read, as the caller's decision may read it."""

    STATIC = "static"
    DYNAMIC = "dynamic"


class CustomerGroup(Base):
    __tablename__ = "customer_groups"
    __table_args__ = (
        # A name is unique per partner: two concurrent creates have one winner (409).
        UniqueConstraint("partner_tenant_id", "name"),
        CheckConstraint("kind IN ('static', 'dynamic')", name="kind"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(String(1024))
    kind: Mapped[CustomerGroupKind] = mapped_column(EnumText(CustomerGroupKind, 16))
    # The dynamic rule (partners/customer_group_rules.py), None for a static group.
    rule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # No foreign keys: the group outlives the people who made or changed it.
    created_by_user_id: Mapped[uuid.UUID | None]
    updated_by_user_id: Mapped[uuid.UUID | None]


class CustomerGroupMember(Base):
    """A customer chosen into a group (static members; a dynamic group may have some too)."""

    __tablename__ = "customer_group_members"
    __table_args__ = (Index("ix_customer_group_members_customer_tenant_id", "customer_tenant_id"),)

    group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customer_groups.id", ondelete="CASCADE"), primary_key=True
    )
    customer_tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )


class CustomerField(Base):
    """A partner's own note on one customer (``region=EU``, ``tier=gold``): the partner's
    data, never shown to the customer or to another partner."""

    __tablename__ = "customer_fields"
    __table_args__ = (
        Index(
            "ix_customer_fields_partner_tenant_id_key_value", "partner_tenant_id", "key", "value"
        ),
    )

    partner_tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    customer_tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(MAX_FIELD_KEY), primary_key=True)
    value: Mapped[str] = mapped_column(String(MAX_FIELD_VALUE))
    updated_at: Mapped[datetime]
