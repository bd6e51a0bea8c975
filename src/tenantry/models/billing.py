"""Product catalogue, subscriptions (seats) and licence assignments."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.models.base import Base, EnumText, uuid_pk


class SubscriptionStatus(StrEnum):
    """A trial past its end reads as expired before the sweeper stores it (effective_status)."""

    TRIAL = "trial"
    ACTIVE = "active"
    EXPIRED = "expired"


class Sku(Base):
    __tablename__ = "skus"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    trial_days: Mapped[int] = mapped_column(default=30)


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint("assigned >= 0 AND assigned <= seats", name="seats"),
        CheckConstraint("status IN ('trial', 'active', 'expired')", name="status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    sku_id: Mapped[str] = mapped_column(ForeignKey("skus.id"))
    seats: Mapped[int]
    # Seats in use, moved by conditional UPDATEs so concurrent assigns never exceed seats.
    assigned: Mapped[int] = mapped_column(default=0)
    status: Mapped[SubscriptionStatus] = mapped_column(EnumText(SubscriptionStatus, 16))
    trial_ends_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class LicenseAssignment(Base):
    __tablename__ = "license_assignments"
    __table_args__ = (UniqueConstraint("subscription_id", "user_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    assigned_at: Mapped[datetime]
