"""Partner delegated administration: offers, relationships, access assignments, policy."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.models.base import Base, EnumText, uuid_pk


class OfferStatus(StrEnum):
    """A disabled offer's link no longer works (410), and its waiting request is withdrawn."""

    ACTIVE = "active"
    DISABLED = "disabled"


class OfferKind(StrEnum):
    """Derived from the columns (``is_classic``, ``customer_tenant_id``), never stored: the
    classic offer gives the agent groups their classic roles, an offer for one customer
    waits for that customer's approval."""

    CLASSIC = "classic"
    REUSABLE = "reusable"
    FOR_ONE_CUSTOMER = "for_one_customer"


class RelationshipStatus(StrEnum):
    APPROVAL_PENDING = "approval_pending"
    ACTIVE = "active"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    TERMINATED = "terminated"


class Party(StrEnum):
    """Who acted on a relationship (ended it, changed its terms): either side, or the operator
    who unenrolled the partner."""

    CUSTOMER = "customer"
    PARTNER = "partner"
    OPERATOR = "operator"


# Live: its agents may act (until ends_at). Open: live, or a request waiting for approval.
LIVE_STATUSES = frozenset({RelationshipStatus.ACTIVE, RelationshipStatus.EXPIRING})
OPEN_STATUSES = frozenset({RelationshipStatus.APPROVAL_PENDING, *LIVE_STATUSES})


class Offer(Base):
    """A link a partner sends; reusable (the classic offer) or for one customer."""

    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'disabled')", name="status"),
        Index("ix_offers_partner_tenant_id_created_at", "partner_tenant_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE")
    )
    # The link's token is derived from the key and this nonce, so it can be shown again;
    # only its SHA-256 is looked up.
    token_nonce: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    is_classic: Mapped[bool] = mapped_column(default=False)
    customer_tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE")
    )
    roles: Mapped[list[str]] = mapped_column(JSON)
    duration_days: Mapped[int]
    auto_extend: Mapped[bool] = mapped_column(default=False)
    trial_sku_id: Mapped[str | None] = mapped_column(ForeignKey("skus.id"))
    trial_seats: Mapped[int | None]
    trial_days: Mapped[int | None]
    purchase_sku_id: Mapped[str | None] = mapped_column(ForeignKey("skus.id"))
    purchase_seats: Mapped[int | None]
    status: Mapped[OfferStatus] = mapped_column(
        EnumText(OfferStatus, 16), default=OfferStatus.ACTIVE
    )
    created_by_user_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]

    @property
    def kind(self) -> OfferKind:
        if self.customer_tenant_id is not None:
            return OfferKind.FOR_ONE_CUSTOMER
        return OfferKind.CLASSIC if self.is_classic else OfferKind.REUSABLE


class Relationship(Base):
    """Partner tenant <-> customer tenant, with the roles the customer approved."""

    __tablename__ = "relationships"
    __table_args__ = (
        CheckConstraint(
            "status IN ('approval_pending', 'active', 'expiring', 'expired', 'terminated')",
            name="status",
        ),
        # One open relationship per offer and customer: concurrent accepts have one winner.
        Index(
            "uq_relationships_open_offer_customer",
            "offer_id",
            "customer_tenant_id",
            unique=True,
            postgresql_where=text("status IN ('approval_pending', 'active', 'expiring')"),
            sqlite_where=text("status IN ('approval_pending', 'active', 'expiring')"),
        ),
        # One open request per (partner, customer): a partner can't flood a customer.
        Index(
            "uq_relationships_pending_partner_customer",
            "partner_tenant_id",
            "customer_tenant_id",
            unique=True,
            postgresql_where=text("status = 'approval_pending'"),
            sqlite_where=text("status = 'approval_pending'"),
        ),
        Index("ix_relationships_partner_tenant_id_status", "partner_tenant_id", "status"),
        Index("ix_relationships_customer_tenant_id_status", "customer_tenant_id", "status"),
        Index("ix_relationships_status_ends_at", "status", "ends_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE")
    )
    customer_tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE")
    )
    offer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("offers.id", ondelete="SET NULL"))
    roles: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[RelationshipStatus] = mapped_column(EnumText(RelationshipStatus, 24))
    duration_days: Mapped[int]
    auto_extend: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    activated_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    pending_expires_at: Mapped[datetime | None]
    expiring_notified_at: Mapped[datetime | None]
    terminated_at: Mapped[datetime | None]
    terminated_by: Mapped[Party | None] = mapped_column(EnumText(Party, 16))
    approved_by_user_id: Mapped[uuid.UUID | None]
    # Bumped on every change: the ETag that PATCH's If-Match must carry.
    version: Mapped[int] = mapped_column(default=1)


class AccessAssignment(Base):
    """Relationship x partner security group -> a subset of the relationship's roles."""

    __tablename__ = "access_assignments"
    __table_args__ = (UniqueConstraint("relationship_id", "group_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    relationship_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("relationships.id", ondelete="CASCADE")
    )
    group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), index=True
    )
    roles: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class PartnerPolicy(Base):
    """What a customer blocks for every partner, whatever the roles it approved."""

    __tablename__ = "partner_policies"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    blocked_permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Opt-in (off by default): partners may give admin roles and add members to role-holding
    # groups on behalf, i.e. mint standing power in this tenant.
    allow_privileged_roles: Mapped[bool] = mapped_column(default=False, server_default=false())
    updated_at: Mapped[datetime]


class PartnerBlock(Base):
    """A customer refuses requests (for-one-customer offers) from one partner."""

    __tablename__ = "partner_blocks"

    customer_tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    partner_tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_by_user_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime]
