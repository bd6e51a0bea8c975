"""Append-only audit events, hash-chained per tenant."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.models.base import Base, EnumText, uuid_pk


class AuditOutcome(StrEnum):
    """Refusals and failed sign-ins are recorded too, not only what succeeded."""

    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "seq"),
        Index("ix_audit_events_partner_tenant_id_occurred_at", "partner_tenant_id", "occurred_at"),
        Index("ix_audit_events_actor_user_id", "actor_user_id"),
        Index("ix_audit_events_actor_client_id", "actor_client_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    # Actor, partner and relationship carry no foreign keys: the log outlives them.
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    seq: Mapped[int]
    occurred_at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[AuditOutcome] = mapped_column(EnumText(AuditOutcome, 16))
    actor_user_id: Mapped[uuid.UUID | None]
    actor_user_principal_name: Mapped[str | None] = mapped_column(String(320))
    actor_tenant_id: Mapped[uuid.UUID | None]
    # An API client acting (no user): its id and its name in words, as it was then
    # ("app 'Backup' of partner Fabrikam"). Hashed into the chain only when set, so events
    # written before these columns existed verify as they did.
    actor_client_id: Mapped[uuid.UUID | None]
    actor_client_name: Mapped[str | None] = mapped_column(String(320))
    partner_tenant_id: Mapped[uuid.UUID | None]
    relationship_id: Mapped[uuid.UUID | None]
    target: Mapped[str] = mapped_column(String(512), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64))
    client_address: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
