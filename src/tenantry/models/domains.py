"""Domains of a tenant; a verified name belongs to one tenant platform-wide."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.models.base import Base, EnumText, uuid_pk


class DomainStatus(StrEnum):
    """A domain is verified once its TXT record is seen; only then is its name the tenant's."""

    UNVERIFIED = "unverified"
    VERIFIED = "verified"


class DomainCapability(StrEnum):
    """What a verified domain may be used for (stored as a JSON list of these values)."""

    EMAIL = "email"


class Domain(Base):
    __tablename__ = "domains"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        CheckConstraint("status IN ('unverified', 'verified')", name="status"),
        Index(
            "uq_domains_verified_name",
            "name",
            unique=True,
            postgresql_where=text("status = 'verified'"),
            sqlite_where=text("status = 'verified'"),
        ),
        Index("ix_domains_name", "name"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(253))
    status: Mapped[DomainStatus] = mapped_column(
        EnumText(DomainStatus, 16), default=DomainStatus.UNVERIFIED
    )
    verification_token: Mapped[str] = mapped_column(String(64))
    capabilities: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_initial: Mapped[bool] = mapped_column(default=False)
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    verified_at: Mapped[datetime | None]
