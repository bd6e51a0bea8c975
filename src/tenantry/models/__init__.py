"""All models, imported so that ``Base.metadata`` knows every table."""

from tenantry.models.access_templates import AccessTemplate, AccessTemplateEntry
from tenantry.models.api_clients import (
    ApiClient,
    ApiClientAssertion,
    ApiClientCredential,
    ApiClientGroup,
    ApiClientKind,
    ApiClientRole,
    ApiClientToken,
)
from tenantry.models.audit import AuditEvent, AuditOutcome
from tenantry.models.auth import (
    ApiToken,
    ChallengePurpose,
    Passkey,
    SignInThrottle,
    WebAuthnChallenge,
)
from tenantry.models.base import Base
from tenantry.models.billing import LicenseAssignment, Sku, Subscription, SubscriptionStatus
from tenantry.models.customer_groups import (
    CustomerField,
    CustomerGroup,
    CustomerGroupKind,
    CustomerGroupMember,
)
from tenantry.models.devices import Device
from tenantry.models.directory import Group, GroupKind, GroupMember, RoleAssignment, User
from tenantry.models.domains import Domain, DomainCapability, DomainStatus
from tenantry.models.health import HealthStatus, Service, ServiceMessage
from tenantry.models.jobs import Job, JobAction, JobItem, JobItemStatus, JobStatus
from tenantry.models.oidc import (
    AuthorizationCode,
    RefreshToken,
    RelyingParty,
    RelyingPartyKind,
    SigningKey,
)
from tenantry.models.outbox import OutboxMessage
from tenantry.models.partners import (
    AccessAssignment,
    Activation,
    ActivationStatus,
    Offer,
    PartnerBlock,
    PartnerPolicy,
    Relationship,
)
from tenantry.models.provisioning import ScimToken, UserEmail
from tenantry.models.support import (
    RequestStatus,
    ServiceRequest,
    ServiceRequestComment,
    Severity,
)
from tenantry.models.tenancy import Tenant
from tenantry.models.webhooks import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookKind,
    WebhookSubscription,
)

__all__ = [
    "AccessAssignment",
    "AccessTemplate",
    "AccessTemplateEntry",
    "Activation",
    "ActivationStatus",
    "ApiClient",
    "ApiClientAssertion",
    "ApiClientCredential",
    "ApiClientGroup",
    "ApiClientKind",
    "ApiClientRole",
    "ApiClientToken",
    "ApiToken",
    "AuditEvent",
    "AuditOutcome",
    "AuthorizationCode",
    "Base",
    "ChallengePurpose",
    "CustomerField",
    "CustomerGroup",
    "CustomerGroupKind",
    "CustomerGroupMember",
    "DeliveryStatus",
    "Device",
    "Domain",
    "DomainCapability",
    "DomainStatus",
    "Group",
    "GroupKind",
    "GroupMember",
    "HealthStatus",
    "Job",
    "JobAction",
    "JobItem",
    "JobItemStatus",
    "JobStatus",
    "LicenseAssignment",
    "Offer",
    "OutboxMessage",
    "PartnerBlock",
    "PartnerPolicy",
    "Passkey",
    "RefreshToken",
    "Relationship",
    "RelyingParty",
    "RelyingPartyKind",
    "RequestStatus",
    "RoleAssignment",
    "ScimToken",
    "Service",
    "ServiceMessage",
    "ServiceRequest",
    "ServiceRequestComment",
    "Severity",
    "SignInThrottle",
    "SigningKey",
    "Sku",
    "Subscription",
    "SubscriptionStatus",
    "Tenant",
    "User",
    "UserEmail",
    "WebAuthnChallenge",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookKind",
    "WebhookSubscription",
]
