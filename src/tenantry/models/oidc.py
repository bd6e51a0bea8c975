"""Services that sign people in with Tenantry (OpenID Connect relying parties), the keys the
provider signs with, and the one-time codes and refresh tokens it hands out (README "Services
sign in with Tenantry")."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.core.context import SecondFactor
from tenantry.models.base import Base, EnumText, uuid_pk


class RelyingPartyKind(StrEnum):
    """Registered by the operator for every tenant (a platform service, with its health), or
    by a tenant for its own people only."""

    PLATFORM = "platform_service"
    TENANT = "tenant_app"


class RelyingParty(Base):
    __tablename__ = "oidc_clients"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[RelyingPartyKind] = mapped_column(EnumText(RelyingPartyKind, 16))
    # The tenant whose own app this is (None: a platform service, open to every tenant).
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    # A platform service is also a service of the health page (``services``).
    service_id: Mapped[str | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL"), unique=True
    )
    name: Mapped[str] = mapped_column(String(128))
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    # SHA-256 of the secret (32 random bytes); None: a public client (PKCE only).
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    # A SKU id or a service plan a user must hold to sign in (None: anyone of the tenant).
    required_license: Mapped[str | None] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    created_by_user_id: Mapped[uuid.UUID | None]

    @property
    def public(self) -> bool:
        return self.secret_hash is None


class SigningKey(Base):
    """A key the provider signs ID and access tokens with. The newest live key signs; older
    live keys stay in the JWKS so tokens they signed still validate, until retired. The
    private key is stored encrypted (JWE, A256GCM) with a key derived from the secret key."""

    __tablename__ = "oidc_signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    private_jwk_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]


class AuthorizationCode(Base):
    """A one-time code (only its SHA-256 is kept), spent by one conditional UPDATE."""

    __tablename__ = "oidc_codes"

    id: Mapped[uuid.UUID] = uuid_pk()
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("oidc_clients.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The tenant the tokens are for (the user's own, or a customer's on behalf).
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    partner_tenant_id: Mapped[uuid.UUID | None]
    relationship_id: Mapped[uuid.UUID | None]
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(String(256))
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(8))
    second_factor: Mapped[SecondFactor] = mapped_column(EnumText(SecondFactor, 16))
    # The web session the sign-in came from (``sid``): logging out ends it and its tokens.
    session_id: Mapped[uuid.UUID | None]
    auth_time: Mapped[datetime]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class RefreshToken(Base):
    """A refresh token (only its SHA-256 is kept). Each use spends it and issues the next of
    its family; a spent one used again revokes the whole family (reuse detection)."""

    __tablename__ = "oidc_refresh_tokens"

    id: Mapped[uuid.UUID] = uuid_pk()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    code_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("oidc_clients.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    partner_tenant_id: Mapped[uuid.UUID | None]
    relationship_id: Mapped[uuid.UUID | None]
    scope: Mapped[str] = mapped_column(Text)
    second_factor: Mapped[SecondFactor] = mapped_column(EnumText(SecondFactor, 16))
    session_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    auth_time: Mapped[datetime]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
