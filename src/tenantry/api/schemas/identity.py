"""Sign-up, sign-in, the signed-in user, password and second factor."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from tenantry.api.schemas.common import (
    Body,
    Name,
    Out,
    Password,
    SingleLine,
    SingleLineOrNone,
)
from tenantry.core.context import SecondFactor


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
    passkey: dict[str, Any] | None = Field(
        default=None,
        description="Instead of totp_code: a passkey's answer to the options of POST "
        "/auth/passkey/options (navigator.credentials.get()'s PublicKeyCredential as JSON)",
    )


class PasskeySignInIn(Body):
    username: SingleLine = Field(min_length=1, max_length=320)
    password: str = Password


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
    second_factor: SecondFactor = Field(
        default=SecondFactor.NONE,
        description="The second factor this session's sign-in proved: none, totp or passkey",
    )


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


class CurrentPasswordIn(Body):
    password: str = Field(
        min_length=1, max_length=256, description="The current password of the signed-in user"
    )


class PasskeyRegistrationIn(Body):
    name: SingleLine = Field(
        min_length=1, max_length=64, description="What the user calls it ('Work laptop')"
    )
    credential: dict[str, Any] = Field(
        description="navigator.credentials.create()'s PublicKeyCredential as JSON, answering "
        "the options of POST /me/passkeys/register/options"
    )


class PasskeyOut(Out):
    id: uuid.UUID
    name: str
    created_at: datetime
    last_used_at: datetime | None
    aaguid: str = Field(description="The authenticator model as it says (not verified)")
    backup_eligible: bool = Field(description="A synced (multi-device) passkey")
    backed_up: bool
    transports: list[str]
