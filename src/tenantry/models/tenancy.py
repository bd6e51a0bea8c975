"""Tenants: organisations, their contact details and partner-program enrolment."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, false
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.models.base import Base, uuid_pk

GENESIS_HASH = "0" * 64


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(256), index=True)
    street: Mapped[str] = mapped_column(String(256), default="")
    city: Mapped[str] = mapped_column(String(128), default="")
    postal_code: Mapped[str] = mapped_column(String(32), default="")
    country: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str] = mapped_column(String(64), default="")
    technical_contact_email: Mapped[str] = mapped_column(String(320), default="")
    is_partner: Mapped[bool] = mapped_column(default=False)
    # Set while a partner: its name with case, width, invisible characters and look-alike
    # letters folded away (services.tenants.name_key). Unique, so no partner passes itself
    # off as another on the offer page or in a customer's partner list.
    partner_name_key: Mapped[str | None] = mapped_column(String(256), index=True, unique=True)
    partner_enrolled_at: Mapped[datetime | None]
    # As a partner: its agents act on behalf of customers only after a sign-in with a
    # phishing-resistant factor (a passkey), not a TOTP code. Set by its own admins.
    require_phishing_resistant_mfa: Mapped[bool] = mapped_column(
        default=False, server_default=false()
    )
    # Head of this tenant's audit hash chain; bumped in the same transaction as each event.
    audit_seq: Mapped[int] = mapped_column(default=0)
    audit_head_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
