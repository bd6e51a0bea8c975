"""Services that sign people in with Tenantry (OpenID Connect) as the API shows them, and the
health a service posts itself."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from tenantry.api.schemas.common import Body, MultiLineOrNone, SingleLine
from tenantry.models.health import HealthStatus

Uri = SingleLine


class OidcAppIn(Body):
    """An organisation's own app: it signs in the organisation's people only."""

    name: SingleLine = Field(min_length=1, max_length=128, examples=["Intranet"])
    redirect_uris: list[Uri] = Field(min_length=1, max_length=20)
    post_logout_redirect_uris: list[Uri] = Field(default_factory=list, max_length=20)
    require_license: SingleLine | None = Field(
        default=None, max_length=64, description="A SKU id or service plan users must hold"
    )
    public: bool = Field(
        default=False, description="A public client (no secret; PKCE alone), e.g. a SPA"
    )


class OidcAppOut(BaseModel):
    id: uuid.UUID
    name: str
    client_id: str
    public: bool
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    required_license: str | None
    enabled: bool
    created_at: datetime


class OidcAppSecretOut(OidcAppOut):
    client_secret: str | None = Field(description="Shown once; none for a public client")
    issuer: str = Field(
        description="The discovery document is at issuer + /.well-known/openid-configuration"
    )


class ClientSecretOut(BaseModel):
    client_secret: str


class ServiceHealthIn(Body):
    status: HealthStatus
    message: MultiLineOrNone = Field(default=None, max_length=2000)


class ServiceHealthPosted(BaseModel):
    id: str
    name: str
    status: HealthStatus
