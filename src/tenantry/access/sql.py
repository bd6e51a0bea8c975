"""The delegated rule written once more as SQL (NetBox's ``restrict()`` pattern), for sets.

``delegated_links`` (paths.py) is which (relationship, access assignment) pairs are live for
an agent; ``delegated_path`` reads them for one customer to decide one request, and
``restrict_to`` here turns them plus the role, exclusion and policy rules into a condition
for sets (the partner views). A test on random worlds checks the two agree for every
permission.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.orm import aliased

from tenantry.access.grants import Decision, DecisionPath
from tenantry.access.json_lists import json_has_any, json_holds, json_lists_share
from tenantry.access.paths import activated_links, delegated_links, partner_requires_passkey
from tenantry.access.principals import CLIENTS_NEVER_HOLD
from tenantry.access.roles import DELEGATION_EXCLUSIONS, ROLE_PERMISSIONS, Permission, Role
from tenantry.core.context import Principal
from tenantry.models import AccessAssignment, Activation, PartnerPolicy, Relationship, Tenant


def granting_roles(permission: Permission) -> frozenset[Role]:
    """The roles whose permissions include ``permission`` (ROLE_PERMISSIONS, read in Python)."""
    return frozenset(r for r, granted in ROLE_PERMISSIONS.items() if permission in granted)


def administrable(principal: Principal, tenant_column: Any, now: datetime) -> ColumnElement[bool]:
    """EXISTS a live link of this agent into the row's tenant: the delegated path reaches it
    (what the agent may do there is ``restrict_to``'s question)."""
    return delegated_links(principal, now, tenant_column).exists()


def restrict_to(
    principal: Principal, permission: Permission, tenant_column: Any, now: datetime
) -> ColumnElement[bool]:
    """A SQL condition true exactly when ``permissions(principal, tenant).allows(permission)``
    on the delegated path, for the tenant in ``tenant_column``: MFA, a live link whose
    relationship and assignment share a role granting it or an activation live now
    (``activated_links``) of a role granting it, not a delegation exclusion, not blocked by
    the customer's partner policy; a phishing-resistant sign-in where the partner requires one
    (``second_factor_held_back``); for an API client, not through a role clients never hold
    (``held_back_for_clients``)."""
    if not principal.mfa or permission in DELEGATION_EXCLUSIONS:
        return false()
    never = CLIENTS_NEVER_HOLD if principal.is_client else frozenset()
    roles = [r.value for r in granting_roles(permission) - never]
    standing = (
        delegated_links(principal, now, tenant_column)
        .where(json_lists_share(Relationship.roles, AccessAssignment.roles, roles))
        .exists()
    )
    activated = (
        activated_links(principal, now, tenant_column).where(Activation.role.in_(roles)).exists()
    )
    blocked = (
        select(PartnerPolicy.tenant_id)
        .where(
            PartnerPolicy.tenant_id == tenant_column,
            json_has_any(PartnerPolicy.blocked_permissions, [permission.value]),
        )
        .exists()
    )
    if not principal.phishing_resistant:
        return and_(or_(standing, activated), ~blocked, ~partner_requires_passkey(principal))
    return and_(or_(standing, activated), ~blocked)


def restrict_row_by_row(
    principal: Principal, permissions: tuple[Permission, ...], tenant_column: Any, now: datetime
) -> ColumnElement[bool]:
    """``restrict_to`` of every one of ``permissions`` for the row's tenant, written so that
    PostgreSQL tests it row by row (a scalar subquery over its own alias of the tenant): for a
    page of 50 customers. As plain EXISTS inside an OR (a standing role or an activation), the
    planner would rather hash them, computing the delegated rule for every customer of the
    partner (about 50 ms each at 10,000 customers) to answer for 50 of them. Sets over all the
    customers (reports) want the hashed form: ``restrict_to``."""
    reader = aliased(Tenant, name="restricted_reader")
    guards = [restrict_to(principal, p, reader.id, now) for p in permissions]
    probe = (
        select(func.count())
        .select_from(reader)
        .where(reader.id == tenant_column, *guards)
        .scalar_subquery()
    )
    return probe > 0


def own_partner_only(decision: Decision, partner_column: Any) -> ColumnElement[bool]:
    """What of a customer's partner programme (its relationships, activations) this decision
    shows: everything to the customer's own people, only its own partner's part to an agent on
    behalf. An agent of partner A never learns of partner B: who B is, B's people, roles or
    justifications (a compromised partner must not be a map of its customers' other partners)."""
    if decision.path == DecisionPath.DELEGATED:
        return partner_column == decision.partner_tenant_id
    return true()


__all__ = [
    "administrable",
    "granting_roles",
    "json_has_any",
    "json_holds",
    "json_lists_share",
    "own_partner_only",
    "restrict_row_by_row",
    "restrict_to",
]
