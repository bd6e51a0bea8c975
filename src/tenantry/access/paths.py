"""The paths into a tenant: the member path (the home tenant) and the delegated path (a
partner agent through a live relationship and an access assignment, with the roles its
assignments give it standing and those it activated just in time).

Each path is a resolver that returns the grants it finds, or ``None`` when it gives no path
into the tenant; ``PATHS`` lists them in the order they are tried.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Exists, Select, String, false, literal, or_, select, union_all
from sqlalchemy.orm import Session

from tenantry.access.grants import Decision, DecisionPath, Grant
from tenantry.access.json_lists import json_holds
from tenantry.access.principals import principal_groups
from tenantry.access.roles import (
    DELEGATION_EXCLUSIONS,
    PROVISIONING_PERMISSIONS,
    ROLE_NAMES,
    ROLE_PERMISSIONS,
    Permission,
    Role,
)
from tenantry.core.context import Principal, SecondFactor
from tenantry.models import (
    AccessAssignment,
    Activation,
    ActivationStatus,
    ApiClientRole,
    Group,
    PartnerPolicy,
    Relationship,
    RoleAssignment,
    Tenant,
)
from tenantry.models.partners import LIVE_STATUSES

PathResolver = Callable[[Session, Principal, Tenant, datetime], Decision | None]


PROVISIONING = "Provisioning (SCIM)"


def provisioning_path(
    session: Session, principal: Principal, tenant: Tenant, now: datetime
) -> Decision | None:
    """A provisioning token (SCIM) reaches its own tenant and no other (tried first, and the
    only path for such a principal: it is nobody's member and no partner's agent), with
    ``PROVISIONING_PERMISSIONS``: users and groups, never privileged ones, never roles."""
    if not principal.is_provisioning:
        return None
    if principal.tenant_id != tenant.id:
        return Decision(principal, tenant.id, None, None)
    grant = Grant(
        role=Role.USER_ADMINISTRATOR,
        path=DecisionPath.MEMBER,
        via=f"given to every provisioning token of {tenant.name}",
        permissions=PROVISIONING_PERMISSIONS,
        label=PROVISIONING,
    )
    return Decision(principal, tenant.id, tenant.name, DecisionPath.MEMBER, (grant,))


def member_path(
    session: Session, principal: Principal, tenant: Tenant, now: datetime
) -> Decision | None:
    """Home tenant: roles assigned to the user (or given to the API client) and to its groups,
    in one query."""
    if principal.tenant_id != tenant.id:
        return None
    in_groups = principal_groups(principal)
    # An API client has no user id (and never matches a user's direct assignments); a tenant
    # client's own roles are given to it directly.
    direct = (
        select(RoleAssignment.role, literal(True), literal(None, String())).where(
            RoleAssignment.tenant_id == tenant.id, RoleAssignment.user_id == principal.user_id
        )
        if principal.user_id is not None
        else select(ApiClientRole.role, literal(True), literal(None, String())).where(
            ApiClientRole.client_id == principal.client_id
        )
    )
    through_groups = (
        select(RoleAssignment.role, literal(False), Group.name)
        .join(Group, Group.id == RoleAssignment.group_id)
        .where(RoleAssignment.tenant_id == tenant.id, RoleAssignment.group_id.in_(in_groups))
    )
    rows = session.execute(union_all(direct, through_groups)).all()
    grants = tuple(
        sorted(
            (
                Grant(
                    role=Role(role),
                    path=DecisionPath.MEMBER,
                    via="assigned directly" if directly else f"through group '{group_name}'",
                    permissions=ROLE_PERMISSIONS[Role(role)],
                )
                for role, directly, group_name in rows
                if role in Role._value2member_map_
            ),
            key=lambda g: (g.role.value, g.via),
        )
    )
    return Decision(principal, tenant.id, tenant.name, DecisionPath.MEMBER, grants)


MFA_REQUIRED = (
    "partner agents must sign in with multi-factor authentication (a verification code) "
    "before acting on behalf of a customer. Enrol at POST /me/mfa/totp, then sign in again "
    "with totp_code."
)


# What a sign-in's second factor is called in a refusal.
FACTOR_WORDS = {
    SecondFactor.NONE: "no second factor",
    SecondFactor.TOTP: "a TOTP code",
    SecondFactor.PASSKEY: "a passkey",
}


def partner_requires_passkey(principal: Principal) -> Exists:
    """SQL: the principal's home tenant (the partner) requires its agents to sign in with a
    phishing-resistant factor, a passkey, before they act on behalf."""
    return (
        select(Tenant.id)
        .where(Tenant.id == principal.tenant_id, Tenant.require_phishing_resistant_mfa)
        .exists()
    )


def second_factor_held_back(session: Session, principal: Principal) -> str | None:
    """Why the agent's delegated grants are all held back for its sign-in's second factor
    (None when they are not): the sign-in proved no second factor, or the agent's partner
    requires a passkey and the sign-in proved another factor (a TOTP code)."""
    who = principal.name
    if not principal.mfa:
        return f"{who}: {MFA_REQUIRED}"
    if principal.phishing_resistant:
        return None
    if not session.scalar(select(partner_requires_passkey(principal))):
        return None
    if principal.is_client:
        return (
            f"{who}: the partner requires phishing-resistant sign-ins of its agents; this app "
            "proves itself with a secret, which can be copied. Register a public key for it "
            "(public_jwk: private_key_jwt) to act on behalf of customers."
        )
    return (
        f"{who}: the partner requires a passkey; this sign-in used "
        f"{FACTOR_WORDS[principal.second_factor]}. Its agents act on behalf of customers only "
        "after signing in with a passkey (phishing-resistant). Add one on your account page or "
        "at POST /me/passkeys/register/options, then sign in again with it."
    )


def delegated_links(
    principal: Principal, now: datetime, customer: Any
) -> Select[uuid.UUID, list[str], list[str]]:
    """(relationship, access assignment) pairs live for this agent in ``customer`` (a tenant id
    or a correlated tenant column): a relationship of its home tenant — still a partner — that
    is active or expiring and not past ``ends_at``, and an assignment whose group holds the
    agent. Auto-extend keeps nothing alive past ``ends_at``: the sweep moves ``ends_at``."""
    groups = principal_groups(principal)
    still_partner = (
        select(Tenant.id).where(Tenant.id == principal.tenant_id, Tenant.is_partner).exists()
    )
    return (
        select(Relationship.id, Relationship.roles, AccessAssignment.roles)
        .join(AccessAssignment, AccessAssignment.relationship_id == Relationship.id)
        .where(
            Relationship.customer_tenant_id == customer,
            Relationship.partner_tenant_id == principal.tenant_id,
            Relationship.customer_tenant_id != principal.tenant_id,
            Relationship.status.in_(LIVE_STATUSES),
            Relationship.ends_at > now,
            AccessAssignment.group_id.in_(groups),
            still_partner,
        )
    )


def activated_links(
    principal: Principal, now: datetime, customer: Any
) -> Select[uuid.UUID, list[str], list[str]]:
    """``delegated_links`` joined to this agent's activations that give power now: active,
    started and not past ``ends_at`` (read off the clock: no sweeper), on a live link whose
    access assignment still lists the role as eligible for a group that holds the agent, the
    role still one of the relationship's, and, for Global Administrator where the customer's
    policy asks for it, approved by the customer. Leaving the group, the role leaving the
    assignment or the relationship ending takes the power away at the next request."""
    customer_must_approve = (
        select(PartnerPolicy.tenant_id)
        .where(
            PartnerPolicy.tenant_id == Relationship.customer_tenant_id,
            PartnerPolicy.require_customer_approval_for_global_admin,
        )
        .exists()
    )
    return (
        delegated_links(principal, now, customer)
        .join(Activation, Activation.relationship_id == Relationship.id)
        .where(
            # Activations are a person's, asked for with a fresh second factor: never an app's.
            false() if principal.is_client else Activation.requester_user_id == principal.user_id,
            Activation.status == ActivationStatus.ACTIVE,
            Activation.starts_at <= now,
            Activation.ends_at > now,
            json_holds(Relationship.roles, Activation.role),
            json_holds(AccessAssignment.eligible_roles, Activation.role),
            or_(
                Activation.role != Role.GLOBAL_ADMINISTRATOR.value,
                Activation.customer_approved_at.is_not(None),
                ~customer_must_approve,
            ),
        )
    )


def delegated_path(
    session: Session, principal: Principal, tenant: Tenant, now: datetime
) -> Decision | None:
    """A partner agent in a customer: for each live link (``delegated_links``) into this
    customer, the access assignment gives (assignment roles ∩ relationship roles), and each
    activation live now (``activated_links``) its role; all minus the delegation exclusions
    and the customer's partner policy. Roles the agent could activate are kept aside
    (``Decision.eligible``) so that a refusal can say so."""
    if principal.tenant_id == tenant.id:
        return None
    rows = session.execute(
        delegated_links(principal, now, tenant.id)
        .add_columns(Group.name, AccessAssignment.eligible_roles)
        .join(Group, Group.id == AccessAssignment.group_id)
        .order_by(Relationship.activated_at, Relationship.id)
    ).all()
    if not rows:
        return None
    policy = session.get(PartnerPolicy, tenant.id)
    blocked = frozenset(
        Permission(p)
        for p in (policy.blocked_permissions if policy else [])
        if p in Permission._value2member_map_
    )
    partner_name = session.scalar(select(Tenant.name).where(Tenant.id == principal.tenant_id))
    activated = session.execute(
        activated_links(principal, now, tenant.id)
        .with_only_columns(Activation.id, Activation.role, Activation.ends_at, Relationship.id)
        .order_by(Activation.starts_at, Activation.id)
    ).all()
    grants: list[Grant] = []
    eligible: list[Grant] = []
    for relationship_id, relationship_roles, assignment_roles, group_name, eligible_roles in rows:
        for role_id in sorted(set(relationship_roles) & set(assignment_roles)):
            if role_id not in Role._value2member_map_:
                continue
            role = Role(role_id)
            grants.append(
                Grant(
                    role=role,
                    path=DecisionPath.DELEGATED,
                    via=f"delegated by {tenant.name} to {partner_name}'s group '{group_name}'",
                    permissions=ROLE_PERMISSIONS[role] - DELEGATION_EXCLUSIONS - blocked,
                    relationship_id=relationship_id,
                )
            )
        for role_id in sorted(set(relationship_roles) & set(eligible_roles or [])):
            if role_id in Role._value2member_map_:
                role = Role(role_id)
                eligible.append(
                    Grant(
                        role=role,
                        path=DecisionPath.DELEGATED,
                        via=f"eligible through {partner_name}'s group '{group_name}'",
                        permissions=ROLE_PERMISSIONS[role] - DELEGATION_EXCLUSIONS - blocked,
                        relationship_id=relationship_id,
                    )
                )
    seen: set[uuid.UUID] = set()
    for activation_id, role_id, ends_at, relationship_id in activated:
        if activation_id in seen or role_id not in Role._value2member_map_:
            continue  # one row per assignment that keeps it eligible
        seen.add(activation_id)
        role = Role(role_id)
        grants.append(
            Grant(
                role=role,
                path=DecisionPath.DELEGATED,
                via=f"delegated by {tenant.name} to {partner_name}, through activation "
                f"{activation_id} of {ROLE_NAMES[role]} until {ends_at:%Y-%m-%d %H:%M:%S} UTC",
                permissions=ROLE_PERMISSIONS[role] - DELEGATION_EXCLUSIONS - blocked,
                relationship_id=relationship_id,
                activation_id=activation_id,
                until=ends_at,
            )
        )
    active_roles = {(g.role, g.relationship_id) for g in grants if g.activation_id}
    return Decision(
        principal,
        tenant.id,
        tenant.name,
        DecisionPath.DELEGATED,
        tuple(grants),
        partner_tenant_id=principal.tenant_id,
        relationship_id=rows[0][0],
        blocked=second_factor_held_back(session, principal),
        policy_blocked=blocked,
        eligible=tuple(g for g in eligible if (g.role, g.relationship_id) not in active_roles),
    )


PATHS: list[PathResolver] = [provisioning_path, member_path, delegated_path]
