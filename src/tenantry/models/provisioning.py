"""Provisioning by SCIM 2.0 (README "Provisioning by SCIM 2.0"): a tenant's provisioning
tokens, and the e-mail addresses an identity system keeps on a user."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.models.base import Base, uuid_pk


class ScimToken(Base):
    """A bearer token an identity system provisions the tenant's directory with. Only its
    SHA-256 is stored (32 random bytes: not guessable, so no slow hash is needed); it is looked
    up on every request, so deleting the row revokes it at the next request in every process."""

    __tablename__ = "scim_tokens"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(256))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    # No foreign key: the token (and the audit log naming its maker) outlives the user.
    created_by_user_id: Mapped[uuid.UUID | None]
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class UserEmail(Base):
    """One of a user's e-mail addresses as SCIM's ``emails`` holds them (in order)."""

    __tablename__ = "user_emails"
    __table_args__ = (Index("ix_user_emails_value", "value"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[str] = mapped_column(String(320))
    type: Mapped[str | None] = mapped_column(String(64))
    display: Mapped[str | None] = mapped_column(String(256))
    primary: Mapped[bool | None]
