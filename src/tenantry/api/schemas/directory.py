"""The organisation, its users, groups, roles, domains and devices."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, EmailStr, Field

from tenantry.access.roles import Role
from tenantry.api.schemas.common import (
    Body,
    ContactDetails,
    MultiLine,
    MultiLineOrNone,
    Name,
    Out,
    SingleLine,
    SingleLineOrNone,
)
from tenantry.models.directory import GroupKind
from tenantry.models.domains import DomainStatus


class TenantOut(Out, ContactDetails):
    id: uuid.UUID
    is_partner: bool
    default_domain: str = ""
    created_at: datetime
    updated_at: datetime


class TenantPatch(Body):
    name: SingleLineOrNone = Field(default=None, min_length=1, max_length=256)
    street: SingleLineOrNone = Field(default=None, max_length=256)
    city: SingleLineOrNone = Field(default=None, max_length=128)
    postal_code: SingleLineOrNone = Field(default=None, max_length=32)
    country: SingleLineOrNone = Field(default=None, max_length=64)
    phone: SingleLineOrNone = Field(default=None, max_length=64)
    technical_contact_email: EmailStr | Literal[""] | None = None


# --- users and groups ---------------------------------------------------------------------


class UserOut(Out):
    id: uuid.UUID
    user_principal_name: str
    display_name: str
    enabled: bool
    mfa_enabled: bool
    must_change_password: bool
    last_sign_in_at: datetime | None
    created_at: datetime


class UserCreatedOut(UserOut):
    temporary_password: str | None = Field(
        default=None, description="Shown once, when no password was given"
    )


class UserIn(Body):
    user_principal_name: SingleLine = Field(min_length=3, max_length=320)
    display_name: SingleLine = Name
    password: str | None = Field(default=None, max_length=256)
    must_change_password: bool = True


class UserPatch(Body):
    display_name: SingleLineOrNone = Field(default=None, min_length=1, max_length=256)
    enabled: bool | None = None


class ResetPasswordOut(BaseModel):
    temporary_password: str


class GroupOut(Out):
    id: uuid.UUID
    name: str
    kind: GroupKind
    description: str
    created_at: datetime


class GroupIn(Body):
    name: SingleLine = Name
    kind: GroupKind = GroupKind.SECURITY
    description: MultiLine = Field(default="", max_length=1024)


class GroupPatch(Body):
    name: SingleLineOrNone = Field(default=None, min_length=1, max_length=256)
    description: MultiLineOrNone = Field(default=None, max_length=1024)


class MemberIn(Body):
    user_id: uuid.UUID


class RoleOut(BaseModel):
    id: Role
    name: str
    description: str
    permissions: list[str]


class RoleAssignmentOut(Out):
    id: uuid.UUID
    role: Role
    user_id: uuid.UUID | None
    group_id: uuid.UUID | None
    created_at: datetime


class RoleAssignmentIn(Body):
    role: Role
    user_id: uuid.UUID | None = None
    group_id: uuid.UUID | None = None


class VerificationRecord(BaseModel):
    type: Literal["TXT"] = "TXT"
    name: str
    value: str


class DomainOut(BaseModel):
    name: str
    status: DomainStatus
    verification: VerificationRecord | None
    capabilities: list[str]
    is_initial: bool
    is_default: bool
    created_at: datetime
    verified_at: datetime | None


class DomainIn(Body):
    name: SingleLine = Field(min_length=1, max_length=253)


Platform = Literal["windows", "macos", "ios", "android", "linux"]


class DeviceOut(Out):
    id: uuid.UUID
    name: str
    platform: Platform
    serial_number: str
    owner_user_id: uuid.UUID | None
    created_at: datetime


class DeviceIn(Body):
    name: SingleLine = Name
    platform: Platform
    serial_number: SingleLine = Field(default="", max_length=128)
    owner_user_id: uuid.UUID | None = None


class DevicePatch(Body):
    name: SingleLineOrNone = Field(default=None, min_length=1, max_length=256)
    owner_user_id: uuid.UUID | None = None
