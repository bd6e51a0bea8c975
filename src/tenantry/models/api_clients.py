"""Automation identities (API clients): a tenant's or a partner's apps, their groups or roles,
the short-lived tokens they get from ``POST /oauth2/token`` and the client assertions already
spent (docs/architecture.md §2, README "Automation identities")."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.models.base import Base, EnumText, uuid_pk


class ApiClientKind(StrEnum):
    """A partner's client acts through the partner's groups (its agent groups or others), on
    the delegated path like an agent of those groups; a tenant's client holds roles in its own
    tenant (the member path) and nowhere else."""

    PARTNER = "partner"
    TENANT = "tenant"


class ApiClientCredential(StrEnum):
    """How a client proves itself at the token endpoint (derived, never stored): a secret
    (client_secret_basic or client_secret_post), a JWT signed by its key (private_key_jwt), or
    nothing yet (its key was removed: give it a secret or a key again)."""

    SECRET = "secret"  # noqa: S105 - the name of a method, not a secret
    PRIVATE_KEY_JWT = "private_key_jwt"
    NONE = "none"


class ApiClient(Base):
    __tablename__ = "api_clients"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        CheckConstraint("kind IN ('partner', 'tenant')", name="kind"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ApiClientKind] = mapped_column(EnumText(ApiClientKind, 16))
    name: Mapped[str] = mapped_column(String(256))
    # The public identifier sent to the token endpoint (``client_id``); not a secret.
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    # SHA-256 of the secret (32 random bytes, never stored): a random token is not a password,
    # so no slow hash is needed to resist guessing. None when the client signs with a key.
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    # After a rotation the previous secret keeps working until ``previous_secret_until``.
    previous_secret_hash: Mapped[str | None] = mapped_column(String(64))
    previous_secret_until: Mapped[datetime | None]
    # A public JWK (RFC 7517): the client authenticates with private_key_jwt (RFC 7523).
    public_jwk: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Networks (CIDR) the client may call from, at the token endpoint and on every request;
    # empty: any address.
    allowed_ips: Mapped[list[str]] = mapped_column(JSON, default=list)
    expires_at: Mapped[datetime | None]
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # No foreign key: the client (and the audit log naming its maker) outlives the user.
    created_by_user_id: Mapped[uuid.UUID | None]
    last_used_at: Mapped[datetime | None]

    @property
    def credential(self) -> ApiClientCredential:
        if self.public_jwk is not None:
            return ApiClientCredential.PRIVATE_KEY_JWT
        if self.secret_hash is not None:
            return ApiClientCredential.SECRET
        return ApiClientCredential.NONE


class ApiClientGroup(Base):
    """A partner client's membership of one of the partner's security groups."""

    __tablename__ = "api_client_groups"

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("api_clients.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime]


class ApiClientRole(Base):
    """A role a tenant client holds in its own tenant."""

    __tablename__ = "api_client_roles"

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("api_clients.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(64), primary_key=True)
    added_at: Mapped[datetime]


class ApiClientToken(Base):
    """An access token from the token endpoint: like a person's bearer token, only its SHA-256
    is stored and it is looked up with its client on every request, so disabling or deleting
    the client ends it at the next request in every process. A table of its own, not
    ``api_tokens``: a person's session and an app's token never mix (the web's cookie never
    takes an app's token, and a token's user stays NOT NULL)."""

    __tablename__ = "api_client_tokens"

    id: Mapped[uuid.UUID] = uuid_pk()
    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("api_clients.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    client_address: Mapped[str | None] = mapped_column(String(64))


class ApiClientAssertion(Base):
    """A ``jti`` of a private_key_jwt assertion already used, kept until the assertion
    expires: a replayed assertion is refused."""

    __tablename__ = "api_client_assertions"

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("api_clients.id", ondelete="CASCADE"), primary_key=True
    )
    jti: Mapped[str] = mapped_column(String(256), primary_key=True)
    expires_at: Mapped[datetime]
