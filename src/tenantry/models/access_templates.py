"""Access templates (issue 14): which of a partner's security groups get which standing and
eligible roles, applied to many customers at once. What a template made is marked on the
access assignment itself (``AccessAssignment.template_id``), so applying again is idempotent
and updating or unapplying touches only the template's own assignments."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.models.base import Base, uuid_pk
from tenantry.models.partners import DEFAULT_ACTIVATION_MINUTES


class AccessTemplate(Base):
    """A partner's named set of entries; private to the partner (another partner gets 404)."""

    __tablename__ = "access_templates"
    __table_args__ = (UniqueConstraint("partner_tenant_id", "name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str] = mapped_column(String(2000), default="")
    created_by_user_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Set by every apply and unapply: the write that serialises two of them (the row lock on
    # PostgreSQL), so parallel applies of one template never both create.
    applied_at: Mapped[datetime | None]


class AccessTemplateEntry(Base):
    """One security group's terms in a template, as an access assignment has them."""

    __tablename__ = "access_template_entries"
    __table_args__ = (UniqueConstraint("template_id", "group_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    template_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("access_templates.id", ondelete="CASCADE")
    )
    group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), index=True
    )
    roles: Mapped[list[str]] = mapped_column(JSON)
    eligible_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_activation_minutes: Mapped[int] = mapped_column(default=DEFAULT_ACTIVATION_MINUTES)
    approval_required: Mapped[bool] = mapped_column(default=False, server_default=false())
    approver_group_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("groups.id", ondelete="SET NULL"), index=True
    )
