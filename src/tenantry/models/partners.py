"""Partner delegated administration: offers, relationships, access assignments, policy."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
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


# Bounds of one just-in-time activation, in minutes (30 minutes to 8 hours), its default, how
# long a request waits for its approvals, and how recent the requester's (or approver's)
# second factor must be.
MIN_ACTIVATION_MINUTES = 30
MAX_ACTIVATION_MINUTES = 480
DEFAULT_ACTIVATION_MINUTES = 60
APPROVAL_WINDOW = timedelta(hours=24)
RECENT_MFA = timedelta(minutes=15)


class ActivationStatus(StrEnum):
    """A just-in-time activation of an eligible role. ``expired`` is never stored: it is read
    off the clock (an active one past ``ends_at``, a request past ``pending_expires_at``), so
    no sweeper has to run for an activation to stop giving power."""

    PENDING_APPROVAL = "pending_approval"
    ACTIVE = "active"
    DENIED = "denied"
    ENDED = "ended"
    EXPIRED = "expired"


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
    # Just-in-time elevation (docs/architecture.md §2): roles the group's members may activate
    # for a while, within the relationship's roles, instead of holding them all the time.
    eligible_roles: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    max_activation_minutes: Mapped[int] = mapped_column(
        default=DEFAULT_ACTIVATION_MINUTES, server_default=str(DEFAULT_ACTIVATION_MINUTES)
    )
    approval_required: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A security group of the partner whose members approve (never the requester's own
    # request). Deleting the group leaves nobody to approve: activations that need approval
    # stay pending, which fails closed.
    approver_group_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("groups.id", ondelete="SET NULL"), index=True
    )
    # The access template that made it (None: made one at a time). Applying a template again
    # touches only its own assignments; deleting the template leaves them as ordinary ones
    # (it clears this column: no foreign key, which SQLite can't add without recreating the
    # table, and recreating it would drop the activations' rows that reference it).
    template_id: Mapped[uuid.UUID | None] = mapped_column(index=True)


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
    # Opt-in (off by default): a partner's activation of Global Administrator also needs the
    # approval of one of this tenant's own Global Administrators.
    require_customer_approval_for_global_admin: Mapped[bool] = mapped_column(
        default=False, server_default=false()
    )
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


class Activation(Base):
    """A partner agent's request to hold one eligible role in one customer for a while, and
    what became of it. Who asked, approved, denied or ended it is kept by name too, so the
    customer's record still says who after the partner deletes the user."""

    __tablename__ = "activations"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending_approval', 'active', 'denied', 'ended')", name="status"
        ),
        CheckConstraint("minutes >= 30 AND minutes <= 480", name="minutes"),
        Index("ix_activations_partner_tenant_id_requested_at", "partner_tenant_id", "requested_at"),
        Index(
            "ix_activations_customer_tenant_id_requested_at", "customer_tenant_id", "requested_at"
        ),
        Index("ix_activations_requester_user_id_status", "requester_user_id", "status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE")
    )
    customer_tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE")
    )
    relationship_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("relationships.id", ondelete="CASCADE"), index=True
    )
    # The assignment it was granted through (its limits applied); the decision asks again on
    # every request whether one of the relationship's assignments still makes the role
    # eligible for the requester.
    assignment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("access_assignments.id", ondelete="SET NULL")
    )
    requester_user_id: Mapped[uuid.UUID]
    requester_upn: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(64))
    minutes: Mapped[int]
    justification: Mapped[str] = mapped_column(String(500))
    ticket: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[ActivationStatus] = mapped_column(EnumText(ActivationStatus, 24))
    requested_at: Mapped[datetime]
    pending_expires_at: Mapped[datetime | None]
    partner_approval_required: Mapped[bool] = mapped_column(default=False)
    approver_group_id: Mapped[uuid.UUID | None]
    partner_approved_by_user_id: Mapped[uuid.UUID | None]
    partner_approved_by_upn: Mapped[str | None] = mapped_column(String(320))
    partner_approved_at: Mapped[datetime | None]
    customer_approval_required: Mapped[bool] = mapped_column(default=False)
    customer_approved_by_user_id: Mapped[uuid.UUID | None]
    customer_approved_by_upn: Mapped[str | None] = mapped_column(String(320))
    customer_approved_at: Mapped[datetime | None]
    denied_by: Mapped[Party | None] = mapped_column(EnumText(Party, 16))
    denied_by_upn: Mapped[str | None] = mapped_column(String(320))
    denied_at: Mapped[datetime | None]
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    ended_by: Mapped[Party | None] = mapped_column(EnumText(Party, 16))
    ended_by_upn: Mapped[str | None] = mapped_column(String(320))
    ended_at: Mapped[datetime | None]

    def status_at(self, now: datetime) -> ActivationStatus:
        """The status as of ``now``: a stored one, or ``expired`` read off the clock."""
        if self.status == ActivationStatus.ACTIVE and self.ends_at is not None:
            return ActivationStatus.ACTIVE if now < self.ends_at else ActivationStatus.EXPIRED
        pending = self.status == ActivationStatus.PENDING_APPROVAL
        if pending and self.pending_expires_at and now >= self.pending_expires_at:
            return ActivationStatus.EXPIRED
        return self.status
