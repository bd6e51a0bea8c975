"""All models, imported so that ``Base.metadata`` knows every table."""

from tenantry.models.audit import AuditEvent
from tenantry.models.auth import ApiToken, SignInThrottle
from tenantry.models.base import Base
from tenantry.models.billing import LicenseAssignment, Sku, Subscription
from tenantry.models.devices import Device
from tenantry.models.directory import Group, GroupMember, RoleAssignment, User
from tenantry.models.domains import Domain
from tenantry.models.health import Service, ServiceMessage
from tenantry.models.outbox import OutboxMessage
from tenantry.models.partners import (
    AccessAssignment,
    Offer,
    PartnerBlock,
    PartnerPolicy,
    Relationship,
)
from tenantry.models.support import ServiceRequest, ServiceRequestComment
from tenantry.models.tenancy import Tenant

__all__ = [
    "AccessAssignment",
    "ApiToken",
    "AuditEvent",
    "Base",
    "Device",
    "Domain",
    "Group",
    "GroupMember",
    "LicenseAssignment",
    "Offer",
    "OutboxMessage",
    "PartnerBlock",
    "PartnerPolicy",
    "Relationship",
    "RoleAssignment",
    "Service",
    "ServiceMessage",
    "ServiceRequest",
    "ServiceRequestComment",
    "SignInThrottle",
    "Sku",
    "Subscription",
    "Tenant",
    "User",
]
