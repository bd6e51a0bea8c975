"""Platform services and their health, posted by the operator."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.models.base import Base, EnumText, uuid_pk


class HealthStatus(StrEnum):
    """Ordered from best to worst: an overview shows the worst status of its services."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    INCIDENT = "incident"


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (
        CheckConstraint("status IN ('healthy', 'degraded', 'incident')", name="status"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    status: Mapped[HealthStatus] = mapped_column(
        EnumText(HealthStatus, 16), default=HealthStatus.HEALTHY
    )
    updated_at: Mapped[datetime]


class ServiceMessage(Base):
    __tablename__ = "service_messages"

    id: Mapped[uuid.UUID] = uuid_pk()
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"), index=True)
    status: Mapped[HealthStatus] = mapped_column(EnumText(HealthStatus, 16))
    message: Mapped[str] = mapped_column(Text)
    posted_at: Mapped[datetime]
