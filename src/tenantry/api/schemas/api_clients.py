"""Automation identities (API clients) as the API shows them."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from tenantry.access.roles import Role
from tenantry.api.schemas.common import Body, SingleLine
from tenantry.models.api_clients import ApiClientCredential, ApiClientKind

MAX_JWK_CHARACTERS = 8192
Network = SingleLine


def _small_jwk(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(json.dumps(value, default=str)) > MAX_JWK_CHARACTERS:
        raise ValueError(f"a public key is at most {MAX_JWK_CHARACTERS} characters of JSON")
    return value


class ApiClientFields(Body):
    name: SingleLine = Field(min_length=1, max_length=100, examples=["Nightly sync"])
    allowed_ips: list[Network] | None = Field(
        default=None,
        max_length=50,
        description="Networks (CIDR) or addresses the client may call from; none: any",
        examples=[["203.0.113.0/24"]],
    )
    expires_at: AwareDatetime | None = None
    public_jwk: dict[str, Any] | None = Field(
        default=None,
        description="A public JWK (RSA 2048+, EC or OKP): the client then authenticates with "
        "private_key_jwt (RFC 7523) and gets no secret",
    )

    @field_validator("public_jwk")
    @classmethod
    def _jwk_size(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _small_jwk(value)


class PartnerApiClientIn(ApiClientFields):
    """A partner's client: it acts in customers like an agent of these partner groups."""

    group_ids: list[uuid.UUID] = Field(min_length=1, max_length=20)


class TenantApiClientIn(ApiClientFields):
    """An organisation's own client, holding these roles in it (never Global Administrator)."""

    roles: list[Role] = Field(min_length=1, max_length=20)


class ApiClientPatchFields(Body):
    """Fields left out stay as they are; ``null`` clears expires_at, allowed_ips, public_jwk."""

    name: SingleLine | None = Field(default=None, min_length=1, max_length=100)
    enabled: bool | None = None
    allowed_ips: list[Network] | None = Field(default=None, max_length=50)
    expires_at: AwareDatetime | None = None
    public_jwk: dict[str, Any] | None = None

    @field_validator("public_jwk")
    @classmethod
    def _jwk_size(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _small_jwk(value)


class PartnerApiClientPatch(ApiClientPatchFields):
    group_ids: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=20)


class TenantApiClientPatch(ApiClientPatchFields):
    roles: list[Role] | None = Field(default=None, min_length=1, max_length=20)


class SecretRotationIn(Body):
    overlap_seconds: int | None = Field(
        default=None,
        ge=0,
        le=7 * 24 * 3600,
        description="How long the previous secret keeps working (default 86400: 24 hours; "
        "0 ends it and its tokens now)",
    )


class ApiClientOut(BaseModel):
    id: uuid.UUID
    tenant_id: uuid.UUID
    kind: ApiClientKind
    name: str
    client_id: str
    credential: ApiClientCredential
    allowed_ips: list[str]
    expires_at: datetime | None
    enabled: bool
    public_jwk: dict[str, Any] | None
    previous_secret_until: datetime | None
    created_at: datetime
    updated_at: datetime
    created_by_user_id: uuid.UUID | None
    last_used_at: datetime | None


class PartnerApiClientOut(ApiClientOut):
    group_ids: list[uuid.UUID]


class TenantApiClientOut(ApiClientOut):
    roles: list[Role]


class PartnerApiClientSecretOut(PartnerApiClientOut):
    client_secret: str | None = Field(description="Shown this once; none with a public key")


class TenantApiClientSecretOut(TenantApiClientOut):
    client_secret: str | None = Field(description="Shown this once; none with a public key")
