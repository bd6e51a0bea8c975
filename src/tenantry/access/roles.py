"""Permissions and the built-in directory roles (docs/architecture.md §2). Data, not logic:
gate.py decides."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    TENANT_READ = "tenant.read"
    TENANT_UPDATE = "tenant.update"
    USERS_READ = "users.read"
    USERS_CREATE = "users.create"
    USERS_UPDATE = "users.update"
    USERS_DELETE = "users.delete"
    USERS_RESET_PASSWORD = "users.reset_password"
    # Acting on users who hold an admin role (other than Password Administrator).
    USERS_MANAGE_PRIVILEGED = "users.manage_privileged"
    GROUPS_READ = "groups.read"
    GROUPS_CREATE = "groups.create"
    GROUPS_UPDATE = "groups.update"
    GROUPS_DELETE = "groups.delete"
    ROLES_READ = "roles.read"
    ROLES_ASSIGN = "roles.assign"
    DOMAINS_READ = "domains.read"
    DOMAINS_ADD = "domains.add"
    DOMAINS_VERIFY = "domains.verify"
    DOMAINS_UPDATE = "domains.update"
    DOMAINS_REMOVE = "domains.remove"
    SUBSCRIPTIONS_READ = "subscriptions.read"
    SUBSCRIPTIONS_PURCHASE = "subscriptions.purchase"
    LICENSES_ASSIGN = "licenses.assign"
    LICENSES_UNASSIGN = "licenses.unassign"
    HEALTH_READ = "health.read"
    SERVICE_REQUESTS_READ = "service_requests.read"
    SERVICE_REQUESTS_CREATE = "service_requests.create"
    SERVICE_REQUESTS_UPDATE = "service_requests.update"
    DEVICES_READ = "devices.read"
    DEVICES_CREATE = "devices.create"
    DEVICES_UPDATE = "devices.update"
    DEVICES_DELETE = "devices.delete"
    AUDIT_READ = "audit.read"
    PARTNER_RELATIONSHIPS_READ = "partner_relationships.read"
    PARTNER_RELATIONSHIPS_MANAGE = "partner_relationships.manage"
    # In a partner's own tenant: offers, agents, relationships, access assignments.
    PARTNER_MANAGE = "partner.manage"

    @property
    def is_read(self) -> bool:
        return self.value.endswith(".read")


class AgentLevel(StrEnum):
    """A partner user's administration of customers: which agent group holds it (a kind of
    group, never its name)."""

    FULL = "full"  # *Admin agents*
    LIMITED = "limited"  # *Helpdesk agents*
    NONE = "none"


class Role(StrEnum):
    GLOBAL_ADMINISTRATOR = "global_administrator"
    GLOBAL_READER = "global_reader"
    USER_ADMINISTRATOR = "user_administrator"
    PASSWORD_ADMINISTRATOR = "password_administrator"
    BILLING_ADMINISTRATOR = "billing_administrator"
    LICENSE_ADMINISTRATOR = "license_administrator"
    DOMAIN_NAME_ADMINISTRATOR = "domain_name_administrator"
    SERVICE_SUPPORT_ADMINISTRATOR = "service_support_administrator"
    SECURITY_READER = "security_reader"
    DEVICE_ADMINISTRATOR = "device_administrator"


P = Permission
_ALL = frozenset(Permission)
_ALL_READ = frozenset(p for p in Permission if p.is_read)
_SERVICE_REQUESTS = frozenset(
    {P.SERVICE_REQUESTS_READ, P.SERVICE_REQUESTS_CREATE, P.SERVICE_REQUESTS_UPDATE}
)
_USERS = frozenset({P.USERS_READ, P.USERS_CREATE, P.USERS_UPDATE, P.USERS_DELETE})
_GROUPS = frozenset({P.GROUPS_READ, P.GROUPS_CREATE, P.GROUPS_UPDATE, P.GROUPS_DELETE})
_DEVICES = frozenset({P.DEVICES_READ, P.DEVICES_CREATE, P.DEVICES_UPDATE, P.DEVICES_DELETE})
_DOMAINS = frozenset(
    {P.DOMAINS_READ, P.DOMAINS_ADD, P.DOMAINS_VERIFY, P.DOMAINS_UPDATE, P.DOMAINS_REMOVE}
)
# Every admin role can see the organisation it administers.
_BASE = frozenset({P.TENANT_READ})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.GLOBAL_ADMINISTRATOR: _ALL,
    Role.GLOBAL_READER: _ALL_READ,
    Role.USER_ADMINISTRATOR: _BASE
    | _USERS
    | _GROUPS
    | _SERVICE_REQUESTS
    | {P.USERS_RESET_PASSWORD, P.ROLES_READ, P.HEALTH_READ},
    Role.PASSWORD_ADMINISTRATOR: _BASE
    | _SERVICE_REQUESTS
    | {P.USERS_READ, P.USERS_RESET_PASSWORD, P.HEALTH_READ},
    Role.BILLING_ADMINISTRATOR: _BASE
    | _SERVICE_REQUESTS
    | {P.SUBSCRIPTIONS_READ, P.SUBSCRIPTIONS_PURCHASE, P.HEALTH_READ},
    Role.LICENSE_ADMINISTRATOR: _BASE
    | {P.SUBSCRIPTIONS_READ, P.LICENSES_ASSIGN, P.LICENSES_UNASSIGN, P.USERS_READ},
    Role.DOMAIN_NAME_ADMINISTRATOR: _BASE | _DOMAINS,
    Role.SERVICE_SUPPORT_ADMINISTRATOR: _BASE | _SERVICE_REQUESTS | {P.HEALTH_READ},
    Role.SECURITY_READER: _BASE
    | {P.AUDIT_READ, P.USERS_READ, P.GROUPS_READ, P.ROLES_READ, P.DOMAINS_READ},
    Role.DEVICE_ADMINISTRATOR: _BASE | _DEVICES,
}

# What a provisioning token (SCIM) may do in its own tenant: the directory's users and groups,
# nothing that makes or touches power. Without users.manage_privileged a privileged user (an
# admin, a member of a group that administers customers) is refused by ``require_on_user``;
# without roles.assign a privileged group's members, name and existence are refused by
# ``require_group_change``; and no role can be given (README "Provisioning by SCIM 2.0").
PROVISIONING_PERMISSIONS: frozenset[Permission] = (
    _BASE | _USERS | _GROUPS | {P.USERS_RESET_PASSWORD}
)

ROLE_NAMES: dict[Role, str] = {
    Role.GLOBAL_ADMINISTRATOR: "Global Administrator",
    Role.GLOBAL_READER: "Global Reader",
    Role.USER_ADMINISTRATOR: "User Administrator",
    Role.PASSWORD_ADMINISTRATOR: "Password Administrator",
    Role.BILLING_ADMINISTRATOR: "Billing Administrator",
    Role.LICENSE_ADMINISTRATOR: "License Administrator",
    Role.DOMAIN_NAME_ADMINISTRATOR: "Domain Name Administrator",
    Role.SERVICE_SUPPORT_ADMINISTRATOR: "Service Support Administrator",
    Role.SECURITY_READER: "Security Reader",
    Role.DEVICE_ADMINISTRATOR: "Device Administrator",
}

ROLE_DESCRIPTIONS: dict[Role, str] = {
    Role.GLOBAL_ADMINISTRATOR: "Can manage everything in the organisation.",
    Role.GLOBAL_READER: "Can read everything a Global Administrator can, but change nothing.",
    Role.USER_ADMINISTRATOR: "Manages users and groups, resets passwords of non-admins, "
    "handles service requests.",
    Role.PASSWORD_ADMINISTRATOR: "Resets passwords of non-admins and handles service requests.",
    Role.BILLING_ADMINISTRATOR: "Reads and purchases subscriptions, handles service requests.",
    Role.LICENSE_ADMINISTRATOR: "Assigns and removes licences.",
    Role.DOMAIN_NAME_ADMINISTRATOR: "Adds, verifies and removes domains.",
    Role.SERVICE_SUPPORT_ADMINISTRATOR: "Handles service requests and reads service health.",
    Role.SECURITY_READER: "Reads the audit log and the directory.",
    Role.DEVICE_ADMINISTRATOR: "Manages devices.",
}

# A user holding only these roles is not "privileged": limited admins may reset their passwords.
UNPRIVILEGED_ROLES: frozenset[Role] = frozenset({Role.PASSWORD_ADMINISTRATOR})

# Never reachable through a partner relationship, whatever the roles
# (docs/architecture.md §2): a partner
# can't manage the customer's partners, purchase, or manage devices, and a customer that is
# itself a partner never hands its own partner programme (offers, agents, relationships,
# access assignments) to its partner: compromising P never reaches P's customers' customers.
DELEGATION_EXCLUSIONS: frozenset[Permission] = frozenset(
    {
        Permission.PARTNER_MANAGE,
        Permission.PARTNER_RELATIONSHIPS_MANAGE,
        Permission.SUBSCRIPTIONS_PURCHASE,
        Permission.DEVICES_READ,
        Permission.DEVICES_CREATE,
        Permission.DEVICES_UPDATE,
        Permission.DEVICES_DELETE,
    }
)
# Roles a partner can't ask for: nothing of them would survive the exclusions.
UNDELEGABLE_ROLES: frozenset[Role] = frozenset({Role.DEVICE_ADMINISTRATOR})

ROLE_PLAIN_WORDS: dict[Role, str] = {
    Role.GLOBAL_ADMINISTRATOR: "Full administration: manage everything in your organisation "
    "except your partners, purchases and devices",
    Role.GLOBAL_READER: "Read everything in your organisation",
    Role.USER_ADMINISTRATOR: "Manage users and groups and reset passwords of non-admins",
    Role.PASSWORD_ADMINISTRATOR: "Limited administration: reset passwords of non-admins and "
    "handle service requests",
    Role.BILLING_ADMINISTRATOR: "Read subscriptions and handle service requests",
    Role.LICENSE_ADMINISTRATOR: "Assign and remove licences",
    Role.DOMAIN_NAME_ADMINISTRATOR: "Add, verify and remove domains",
    Role.SERVICE_SUPPORT_ADMINISTRATOR: "Handle service requests and read service health",
    Role.SECURITY_READER: "Read the audit log and the directory",
    Role.DEVICE_ADMINISTRATOR: "Manage devices",
}

# What each permission lets someone do, in the words the partner-policy page shows.
PERMISSION_WORDS: dict[Permission, str] = {
    P.TENANT_READ: "See the organisation's details",
    P.TENANT_UPDATE: "Change the organisation's contact details",
    P.USERS_READ: "See users",
    P.USERS_CREATE: "Add users",
    P.USERS_UPDATE: "Edit, disable and enable users",
    P.USERS_DELETE: "Delete users",
    P.USERS_RESET_PASSWORD: "Reset passwords",
    P.USERS_MANAGE_PRIVILEGED: "Manage users who hold admin roles",
    P.GROUPS_READ: "See groups",
    P.GROUPS_CREATE: "Add groups",
    P.GROUPS_UPDATE: "Edit groups and their members",
    P.GROUPS_DELETE: "Delete groups",
    P.ROLES_READ: "See who holds admin roles",
    P.ROLES_ASSIGN: "Give and remove admin roles",
    P.DOMAINS_READ: "See domains",
    P.DOMAINS_ADD: "Add domains",
    P.DOMAINS_VERIFY: "Verify domains",
    P.DOMAINS_UPDATE: "Change the default domain",
    P.DOMAINS_REMOVE: "Remove domains",
    P.SUBSCRIPTIONS_READ: "See subscriptions",
    P.SUBSCRIPTIONS_PURCHASE: "Buy subscriptions and start trials",
    P.LICENSES_ASSIGN: "Assign licences",
    P.LICENSES_UNASSIGN: "Remove licences",
    P.HEALTH_READ: "See service health",
    P.SERVICE_REQUESTS_READ: "See service requests",
    P.SERVICE_REQUESTS_CREATE: "Raise service requests",
    P.SERVICE_REQUESTS_UPDATE: "Update and comment on service requests",
    P.DEVICES_READ: "See devices",
    P.DEVICES_CREATE: "Register devices",
    P.DEVICES_UPDATE: "Edit devices",
    P.DEVICES_DELETE: "Delete devices",
    P.AUDIT_READ: "Read the audit log",
    P.PARTNER_RELATIONSHIPS_READ: "See the organisation's partners",
    P.PARTNER_RELATIONSHIPS_MANAGE: "Remove partners and change the partner policy",
    P.PARTNER_MANAGE: "Run the Partner center",
}
