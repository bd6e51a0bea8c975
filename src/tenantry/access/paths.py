"""The paths into a tenant: the member path (the home tenant) and the delegated path (a
partner agent through a live relationship and an access assignment).

Each path is a resolver that returns the grants it finds, or ``None`` when it gives no path
into the tenant; ``PATHS`` lists them in the order they are tried.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, literal, select, union_all
from sqlalchemy.orm import Session

from tenantry.access.grants import Decision, DecisionPath, Grant
from tenantry.access.principals import principal_groups
from tenantry.access.roles import DELEGATION_EXCLUSIONS, ROLE_PERMISSIONS, Permission, Role
from tenantry.core.context import Principal
from tenantry.models import (
    AccessAssignment,
    ApiClientRole,
    Group,
    PartnerPolicy,
    Relationship,
    RoleAssignment,
    Tenant,
)
from tenantry.models.partners import LIVE_STATUSES

PathResolver = Callable[[Session, Principal, Tenant, datetime], Decision | None]


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


def delegated_path(
    session: Session, principal: Principal, tenant: Tenant, now: datetime
) -> Decision | None:
    """A partner agent in a customer: for each live link (``delegated_links``) into this
    customer, the access assignment gives (assignment roles ∩ relationship roles), minus the
    delegation exclusions and the customer's partner policy."""
    if principal.tenant_id == tenant.id:
        return None
    rows = session.execute(
        delegated_links(principal, now, tenant.id)
        .add_columns(Group.name)
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
    grants: list[Grant] = []
    for relationship_id, relationship_roles, assignment_roles, group_name in rows:
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
    return Decision(
        principal,
        tenant.id,
        tenant.name,
        DecisionPath.DELEGATED,
        tuple(grants),
        partner_tenant_id=principal.tenant_id,
        relationship_id=rows[0][0],
        blocked=None if principal.mfa else f"{principal.user_principal_name}: {MFA_REQUIRED}",
        policy_blocked=blocked,
    )


PATHS: list[PathResolver] = [member_path, delegated_path]
