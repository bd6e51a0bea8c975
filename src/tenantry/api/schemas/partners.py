"""Partner delegated administration: offers, relationships, customers, agents, policy."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from tenantry.access.grants import DecisionPath
from tenantry.access.roles import AgentLevel, Role
from tenantry.api.schemas.billing import SubscriptionOut
from tenantry.api.schemas.common import Body, ContactDetails, Out, SingleLine, SingleLineOrNone
from tenantry.api.schemas.support import ServiceHealthOut, ServiceRequestOut
from tenantry.models.domains import DomainStatus
from tenantry.models.health import HealthStatus
from tenantry.models.partners import (
    DEFAULT_ACTIVATION_MINUTES,
    MAX_ACTIVATION_MINUTES,
    MIN_ACTIVATION_MINUTES,
    ActivationStatus,
    OfferStatus,
    Party,
    RelationshipStatus,
)
from tenantry.partners.views import LookupMatch


class RoleDescribed(BaseModel):
    id: Role
    name: str
    description: str


class PartnerContact(ContactDetails):
    tenant_id: uuid.UUID


class TrialTermsIO(Body):
    sku_id: SingleLine = Field(min_length=1, max_length=64)
    seats: int = Field(ge=1, le=100_000)
    days: int = Field(default=30, ge=1, le=180)


class PurchaseTermsIO(Body):
    sku_id: SingleLine = Field(min_length=1, max_length=64)
    seats: int = Field(ge=1, le=100_000)


class OfferIn(Body):
    """``{}`` is the classic offer: reusable, Full + Limited administration, P730D."""

    roles: list[Role] | None = Field(default=None, max_length=20)
    duration: SingleLineOrNone = Field(default=None, max_length=16, examples=["P90D"])
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
    status: OfferStatus
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
    """Standing ``roles``, ``eligible_roles`` to activate just in time, or both (at least one
    role in all), each within the relationship's roles."""

    group_id: uuid.UUID
    roles: list[Role] = Field(default_factory=list, max_length=20)
    eligible_roles: list[Role] = Field(default_factory=list, max_length=20)
    max_activation_minutes: int = Field(
        default=DEFAULT_ACTIVATION_MINUTES, ge=MIN_ACTIVATION_MINUTES, le=MAX_ACTIVATION_MINUTES
    )
    approval_required: bool = False
    approver_group_id: uuid.UUID | None = Field(
        default=None,
        description="A security group of the partner whose members approve activations "
        "(never their own); required when approval_required.",
    )


class AccessAssignmentOut(Out):
    id: uuid.UUID
    relationship_id: uuid.UUID
    group_id: uuid.UUID
    roles: list[Role]
    created_at: datetime
    eligible_roles: list[Role] = []
    max_activation_minutes: int = DEFAULT_ACTIVATION_MINUTES
    approval_required: bool = False
    approver_group_id: uuid.UUID | None = None


class ActivationIn(Body):
    relationship_id: uuid.UUID
    role: Role
    minutes: int = Field(ge=MIN_ACTIVATION_MINUTES, le=MAX_ACTIVATION_MINUTES)
    justification: SingleLine = Field(min_length=1, max_length=500)
    ticket: SingleLineOrNone = Field(default=None, max_length=128)


class ActivationOut(BaseModel):
    """A just-in-time activation, as the partner and the customer see it: who asked for which
    role, why, who approved, from when to when, and what became of it. ``expired`` is read
    off the clock (a request not decided in 24 hours, an activation past ``ends_at``)."""

    id: uuid.UUID
    status: ActivationStatus
    relationship_id: uuid.UUID
    partner_tenant_id: uuid.UUID
    partner_name: str
    customer_tenant_id: uuid.UUID
    customer_name: str
    role: Role
    role_name: str
    minutes: int
    justification: str
    ticket: str | None
    requester_user_id: uuid.UUID
    requested_by: str
    requested_at: datetime
    pending_expires_at: datetime | None
    partner_approval_required: bool
    approver_group_id: uuid.UUID | None
    partner_approved_by: str | None
    partner_approved_at: datetime | None
    customer_approval_required: bool
    customer_approved_by: str | None
    customer_approved_at: datetime | None
    denied_by: Party | None
    denied_by_user: str | None
    denied_at: datetime | None
    starts_at: datetime | None
    ends_at: datetime | None
    ended_by: Party | None
    ended_by_user: str | None
    ended_at: datetime | None


class EligibleRoleOut(BaseModel):
    """A role the caller may activate in one customer, and on what terms (the most
    permissive of the access assignments that make it eligible for a group it is in)."""

    relationship_id: uuid.UUID
    customer_tenant_id: uuid.UUID
    customer_name: str
    role: Role
    role_name: str
    max_minutes: int = Field(description="The longest activation allowed")
    max_minutes_without_approval: int | None = Field(
        description="The longest activation no partner approver has to approve; null: every "
        "activation waits for one"
    )
    customer_approval_required: bool = Field(
        description="The customer's own Global Administrators approve every activation too "
        "(its policy for Global Administrator)"
    )
    groups: list[str] = Field(description="The caller's groups that make it eligible")


class AgentIn(Body):
    access: AgentLevel


class AgentOut(BaseModel):
    user_id: uuid.UUID
    user_principal_name: str
    display_name: str
    access: AgentLevel


class PartnerSettingsOut(BaseModel):
    require_phishing_resistant_mfa: bool = Field(
        description="Agents act on behalf of customers only after signing in with a passkey "
        "(not a TOTP code)"
    )


class PartnerSettingsPatch(Body):
    require_phishing_resistant_mfa: bool | None = None


class PartnerPolicyIO(Body):
    blocked_permissions: list[str] = Field(default_factory=list, max_length=100)
    allow_privileged_roles: bool = Field(
        default=False,
        description="Let partners give admin roles (other than Password Administrator) and "
        "change the members of role-holding groups on behalf of this organisation. Off by "
        "default: such power would outlive the relationship.",
    )
    require_customer_approval_for_global_admin: bool = Field(
        default=False,
        description="A partner's just-in-time activation of Global Administrator also needs "
        "the approval of one of this organisation's Global Administrators (beyond any "
        "approver of the partner).",
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
    match_type: LookupMatch
    match: str


class GrantOut(BaseModel):
    role: Role
    role_name: str
    via: str
    relationship_id: uuid.UUID | None
    permissions: list[str]
    activation_id: uuid.UUID | None = None
    until: datetime | None = None


class AccessExplanationOut(BaseModel):
    tenant_id: uuid.UUID
    tenant_name: str | None
    path: DecisionPath | None
    mfa_satisfied: bool
    permissions: list[str]
    grants: list[GrantOut]
    explanation: str
    blocked: str | None
