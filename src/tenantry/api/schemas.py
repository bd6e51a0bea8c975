"""Pydantic v2 shapes of the public API (DESIGN §5). Fields are a contract: add, never change."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from tenantry.access.paths import DecisionPath
from tenantry.access.roles import AgentLevel, Role
from tenantry.core.pagination import Page
from tenantry.models.billing import SubscriptionStatus
from tenantry.models.directory import GroupKind
from tenantry.models.domains import DomainStatus
from tenantry.models.health import HealthStatus
from tenantry.models.support import RequestStatus, Severity

T = TypeVar("T")

Name = Field(min_length=1, max_length=256)
Password = Field(min_length=1, max_length=256)


def _check_text(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("text must be valid Unicode") from exc
    elif isinstance(value, dict):
        for item in value.values():
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


class Body(BaseModel):
    """Every request body: unknown fields refused, text that no database can store refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        _check_text(data)
        return data


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ItemList(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


M = TypeVar("M", bound=BaseModel)


def page_of(page: Page[Any], model: type[M]) -> ItemList[M]:
    """A service's page of rows as the API's list shape."""
    return ItemList[model](  # type: ignore[valid-type]
        items=[model.model_validate(row) for row in page.items], next_cursor=page.next_cursor
    )


# --- sign-up, sign-in, me -----------------------------------------------------------------


class SignupIn(Body):
    organization_name: str = Name
    initial_domain: str = Field(
        min_length=1, max_length=253, description="A label such as 'contoso'"
    )
    admin_password: str = Password
    admin_display_name: str | None = Field(default=None, max_length=256)
    offer_token: str | None = Field(default=None, max_length=512)


class SignupOut(BaseModel):
    tenant_id: uuid.UUID
    admin_user_principal_name: str
    relationship_id: uuid.UUID | None = Field(
        default=None, description="Set when signing up through a partner's offer"
    )


class TokenIn(Body):
    username: str = Field(min_length=1, max_length=320)
    password: str = Password
    totp_code: str | None = Field(default=None, max_length=16)


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
    code: str = Field(min_length=1, max_length=16)


class MfaStatusOut(BaseModel):
    mfa_enabled: bool


# --- tenants ------------------------------------------------------------------------------


class TenantOut(Out):
    id: uuid.UUID
    name: str
    street: str
    city: str
    postal_code: str
    country: str
    phone: str
    technical_contact_email: str
    is_partner: bool
    default_domain: str = ""
    created_at: datetime
    updated_at: datetime


class TenantPatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=256)
    street: str | None = Field(default=None, max_length=256)
    city: str | None = Field(default=None, max_length=128)
    postal_code: str | None = Field(default=None, max_length=32)
    country: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=64)
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
    user_principal_name: str = Field(min_length=3, max_length=320)
    display_name: str = Name
    password: str | None = Field(default=None, max_length=256)
    must_change_password: bool = True


class UserPatch(Body):
    display_name: str | None = Field(default=None, min_length=1, max_length=256)
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
    name: str = Name
    kind: GroupKind = GroupKind.SECURITY
    description: str = Field(default="", max_length=1024)


class GroupPatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=256)
    description: str | None = Field(default=None, max_length=1024)


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


# --- domains ------------------------------------------------------------------------------


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
    name: str = Field(min_length=1, max_length=253)


# --- billing ------------------------------------------------------------------------------


class SkuOut(Out):
    id: str
    name: str
    services: list[str]
    trial_days: int


class SubscriptionOut(BaseModel):
    id: uuid.UUID
    sku_id: str
    sku_name: str
    seats: int
    assigned: int
    status: SubscriptionStatus
    trial_ends_at: datetime | None
    created_at: datetime


class SubscriptionIn(Body):
    sku_id: str = Field(min_length=1, max_length=64)
    seats: int = Field(ge=1, le=100_000)
    trial: bool = False


class LicenseOut(BaseModel):
    subscription_id: uuid.UUID
    user_id: uuid.UUID
    user_principal_name: str | None
    assigned_at: datetime


class LicenseIn(Body):
    user_id: uuid.UUID


# --- health, service requests, devices ------------------------------------------------------


class ServiceMessageOut(Out):
    status: str
    message: str
    posted_at: datetime


class ServiceHealthOut(BaseModel):
    id: str
    name: str
    status: HealthStatus
    updated_at: datetime
    messages: list[ServiceMessageOut]


class HealthOut(BaseModel):
    services: list[ServiceHealthOut]


class ServiceRequestOut(Out):
    id: uuid.UUID
    title: str
    description: str
    severity: Severity
    status: RequestStatus
    created_by_user_id: uuid.UUID | None
    created_by_tenant_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class ServiceRequestIn(Body):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=20_000)
    severity: Severity = Severity.MEDIUM


class ServiceRequestPatch(Body):
    status: RequestStatus | None = None
    severity: Severity | None = None


class CommentOut(Out):
    id: uuid.UUID
    author_user_principal_name: str
    body: str
    created_at: datetime


class CommentIn(Body):
    body: str = Field(min_length=1, max_length=20_000)


Platform = Literal["windows", "macos", "ios", "android", "linux"]


class DeviceOut(Out):
    id: uuid.UUID
    name: str
    platform: Platform
    serial_number: str
    owner_user_id: uuid.UUID | None
    created_at: datetime


class DeviceIn(Body):
    name: str = Name
    platform: Platform
    serial_number: str = Field(default="", max_length=128)
    owner_user_id: uuid.UUID | None = None


class DevicePatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=256)
    owner_user_id: uuid.UUID | None = None


# --- audit --------------------------------------------------------------------------------


class ActorOut(BaseModel):
    user_id: uuid.UUID | None
    user_principal_name: str | None
    tenant_id: uuid.UUID | None


class AuditEventOut(BaseModel):
    id: uuid.UUID
    seq: int
    occurred_at: datetime
    action: str
    outcome: str
    actor: ActorOut
    partner_tenant_id: uuid.UUID | None
    relationship_id: uuid.UUID | None
    target: str
    details: dict[str, Any]
    request_id: str | None
    client_address: str | None


# --- partner delegated administration -------------------------------------------------------


class RoleDescribed(BaseModel):
    id: Role
    name: str
    description: str


class PartnerContact(BaseModel):
    tenant_id: uuid.UUID
    name: str
    street: str
    city: str
    postal_code: str
    country: str
    phone: str
    technical_contact_email: str


class TrialTermsIO(Body):
    sku_id: str = Field(min_length=1, max_length=64)
    seats: int = Field(ge=1, le=100_000)
    days: int = Field(default=30, ge=1, le=180)


class PurchaseTermsIO(Body):
    sku_id: str = Field(min_length=1, max_length=64)
    seats: int = Field(ge=1, le=100_000)


class OfferIn(Body):
    """``{}`` is the classic offer: reusable, Full + Limited administration, P730D."""

    roles: list[Role] | None = Field(default=None, max_length=20)
    duration: str | None = Field(default=None, max_length=16, examples=["P90D"])
    auto_extend: bool = False
    customer_tenant_id: uuid.UUID | None = None
    trial: TrialTermsIO | None = None
    purchase: PurchaseTermsIO | None = None


class OfferPatch(Body):
    enabled: bool | None = None


class OfferOut(BaseModel):
    id: uuid.UUID
    token: str
    url: str
    email_text: str
    mailto: str
    is_classic: bool
    roles: list[Role]
    roles_described: list[RoleDescribed]
    duration: str
    auto_extend: bool
    customer_tenant_id: uuid.UUID | None
    trial: TrialTermsIO | None
    purchase: PurchaseTermsIO | None
    status: Literal["active", "disabled"]
    created_at: datetime
    expires_at: datetime | None


class OfferPublicOut(BaseModel):
    """What a customer is asked to accept."""

    partner: PartnerContact
    roles: list[Role]
    roles_described: list[RoleDescribed]
    duration: str
    duration_days: int
    auto_extend: bool
    for_one_customer: bool
    trial: TrialTermsIO | None
    purchase: PurchaseTermsIO | None
    expires_at: datetime | None
    partner_default_domain: str = Field(
        default="", description="The partner's verified default domain: names can look alike."
    )


RelationshipStatus = Literal["approval_pending", "active", "expiring", "expired", "terminated"]


class RelationshipOut(BaseModel):
    id: uuid.UUID
    partner_tenant_id: uuid.UUID
    customer_tenant_id: uuid.UUID
    status: RelationshipStatus
    roles: list[Role]
    duration: str
    auto_extend: bool
    created_at: datetime
    activated_at: datetime | None
    ends_at: datetime | None
    terminated_at: datetime | None
    terminated_by: str | None
    etag: str


class RelationshipPatch(Body):
    auto_extend: bool | None = None


class CustomerRelationshipOut(BaseModel):
    """A delegated admin as the customer sees it."""

    id: uuid.UUID
    partner: PartnerContact
    roles: list[Role]
    roles_described: list[RoleDescribed]
    status: RelationshipStatus
    created_at: datetime
    activated_at: datetime | None
    ends_at: datetime | None
    auto_extend: bool = False
    partner_default_domain: str = Field(
        default="", description="The partner's verified default domain: names can look alike."
    )
    etag: str = Field(default="", description="Send it as If-Match to PATCH the relationship.")


class PartnerBlockOut(BaseModel):
    """A partner this organisation refuses requests and offer links from."""

    partner_tenant_id: uuid.UUID
    partner_name: str
    partner_default_domain: str
    created_at: datetime


class AccessAssignmentIn(Body):
    group_id: uuid.UUID
    roles: list[Role] = Field(min_length=1, max_length=20)


class AccessAssignmentOut(Out):
    id: uuid.UUID
    relationship_id: uuid.UUID
    group_id: uuid.UUID
    roles: list[Role]
    created_at: datetime


class AgentIn(Body):
    access: AgentLevel


class AgentOut(BaseModel):
    user_id: uuid.UUID
    user_principal_name: str
    display_name: str
    access: AgentLevel


class PartnerPolicyIO(Body):
    blocked_permissions: list[str] = Field(default_factory=list, max_length=100)
    allow_privileged_roles: bool = Field(
        default=False,
        description="Let partners give admin roles (other than Password Administrator) and "
        "change the members of role-holding groups on behalf of this organisation. Off by "
        "default: such power would outlive the relationship.",
    )


class LicenseCount(BaseModel):
    assigned: int
    total: int


class CustomerOut(BaseModel):
    """A customer as this agent may read it: a figure is null where it may not (a relationship
    that is not live, a role that doesn't grant it, the customer's partner policy, no MFA)."""

    tenant_id: uuid.UUID
    name: str
    default_domain: str | None
    relationship_status: RelationshipStatus
    ends_at: datetime | None
    health: HealthStatus | None
    licenses: LicenseCount | None
    open_service_requests: int | None


class DashboardDomain(BaseModel):
    name: str
    status: DomainStatus
    capabilities: list[str]
    is_default: bool
    is_initial: bool


class DashboardOut(BaseModel):
    """One customer: each section is null where the agent may not read it, with the reason in
    ``not_visible`` (section name -> why)."""

    customer: CustomerOut
    contact: PartnerContact | None
    health: list[ServiceHealthOut] | None
    service_requests: list[ServiceRequestOut] | None
    subscriptions: list[SubscriptionOut] | None
    domains: list[DashboardDomain] | None
    relationships: list[RelationshipOut]
    not_visible: dict[str, str] = {}


class LookupHitOut(BaseModel):
    tenant_id: uuid.UUID
    tenant_name: str
    match_type: Literal["tenant", "domain", "user"]
    match: str


class GrantOut(BaseModel):
    role: Role
    role_name: str
    via: str
    relationship_id: uuid.UUID | None
    permissions: list[str]


class AccessExplanationOut(BaseModel):
    tenant_id: uuid.UUID
    tenant_name: str | None
    path: DecisionPath | None
    mfa_satisfied: bool
    permissions: list[str]
    grants: list[GrantOut]
    explanation: str
    blocked: str | None
