"""Sign-up, sign-in, the signed-in user, password and second factor."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from tenantry.api.schemas.common import Body, Name, Password, SingleLine, SingleLineOrNone


class SignupIn(Body):
    organization_name: SingleLine = Name
    initial_domain: SingleLine = Field(
        min_length=1, max_length=253, description="A label such as 'contoso'"
    )
    admin_password: str = Password
    admin_display_name: SingleLineOrNone = Field(default=None, max_length=256)
    offer_token: SingleLineOrNone = Field(default=None, max_length=512)


class SignupOut(BaseModel):
    tenant_id: uuid.UUID
    admin_user_principal_name: str
    relationship_id: uuid.UUID | None = Field(
        default=None, description="Set when signing up through a partner's offer"
    )


class TokenIn(Body):
    username: SingleLine = Field(min_length=1, max_length=320)
    password: str = Password
    totp_code: SingleLineOrNone = Field(default=None, max_length=16)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int
    must_change_password: bool = False


class MeOut(BaseModel):
    id: uuid.UUID
    user_principal_name: str
    display_name: str
    tenant_id: uuid.UUID
    is_partner_agent: bool
    mfa_enabled: bool
    must_change_password: bool


class PasswordChangeIn(Body):
    current_password: str = Password
    new_password: str = Password


class TotpEnrolmentOut(BaseModel):
    secret: str
    otpauth_uri: str


class TotpEnrolmentIn(Body):
    password: str = Field(
        min_length=1, max_length=256, description="The current password of the signed-in user"
    )


class TotpConfirmIn(Body):
    code: SingleLine = Field(min_length=1, max_length=16)


class MfaStatusOut(BaseModel):
    mfa_enabled: bool
