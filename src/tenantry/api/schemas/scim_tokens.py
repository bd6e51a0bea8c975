"""Provisioning tokens (SCIM) as the API shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field

from tenantry.api.schemas.common import Body, SingleLine


class ScimTokenIn(Body):
    name: SingleLine = Field(
        min_length=1, max_length=100, description="The identity system it is for", examples=["Okta"]
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="When it stops working; none: until it is revoked"
    )


class ScimTokenOut(BaseModel):
    id: uuid.UUID
    name: str
    created_at: datetime
    created_by_user_id: uuid.UUID | None
    expires_at: datetime | None
    last_used_at: datetime | None = Field(description="Its last request (to the minute)")


class ScimTokenSecretOut(ScimTokenOut):
    token: str = Field(description="Shown this once: only its SHA-256 is kept")
    scim_base_url: str = Field(description="Where the identity system sends its requests")
