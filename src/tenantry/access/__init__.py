"""The one access decision (docs/architecture.md §2): what may this principal do in this
tenant, and why.

``permissions()`` answers with a ``Decision`` that carries every grant it found (role, path,
assignment), so a refusal can explain itself. Service functions call ``require()`` at their
entry points; nothing else in the code base checks roles.

Paths are resolvers tried in order; each returns the grants it finds or ``None`` when it
gives no path into the tenant: the member path (the home tenant) and the delegated path
(a partner agent through a live relationship and an access assignment).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Select, String, and_, false, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from tenantry.access.paths import DecisionPath
from tenantry.access.roles import (
    DELEGATION_EXCLUSIONS,
    ROLE_NAMES,
    ROLE_PERMISSIONS,
    UNPRIVILEGED_ROLES,
    Permission,
    Role,
)
from tenantry.audit import chain as audit
from tenantry.core.clock import utcnow
from tenantry.core.context import Context, Principal
from tenantry.core.errors import Forbidden, NotFound
from tenantry.models import (
    AccessAssignment,
    Group,
    GroupMember,
    PartnerPolicy,
    Relationship,
    RoleAssignment,
    Tenant,
    User,
)
from tenantry.models.audit import AuditOutcome
from tenantry.models.partners import LIVE_STATUSES


@dataclass(frozen=True)
class Grant:
    """One role that reaches the principal in the tenant, and how."""

    role: Role
    path: DecisionPath
    via: str  # human words: "assigned directly", "through group 'Helpdesk'"
    permissions: frozenset[Permission]
    relationship_id: uuid.UUID | None = None

    def describe(self) -> str:
        return f"{ROLE_NAMES[self.role]} ({self.via})"


@dataclass(frozen=True)
class Decision:
    principal: Principal
    tenant_id: uuid.UUID
    tenant_name: str | None
    path: DecisionPath | None  # None: the tenant does not exist for this principal
    grants: tuple[Grant, ...] = ()
    notes: tuple[str, ...] = field(default=())
    partner_tenant_id: uuid.UUID | None = None
    relationship_id: uuid.UUID | None = None
    # Set when every grant is held back (a partner agent without MFA): the reason, in words.
    blocked: str | None = None
    policy_blocked: frozenset[Permission] = frozenset()

    @property
    def reachable(self) -> bool:
        return self.path is not None

    @property
    def delegated(self) -> bool:
        return self.path == DecisionPath.DELEGATED

    def relationship_for(self, permission: Permission) -> uuid.UUID | None:
        for grant in self.grants:
            if permission in grant.permissions:
                return grant.relationship_id
        return self.relationship_id

    @property
    def permissions(self) -> frozenset[Permission]:
        out: set[Permission] = set()
        for grant in self.grants:
            out |= grant.permissions
        return frozenset(out)

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(g.role for g in self.grants)

    def allows(self, permission: Permission) -> bool:
        return self.blocked is None and permission in self.permissions

    def explain(self, permission: Permission | None = None) -> str:
        who = self.principal.user_principal_name
        if not self.reachable:
            return f"{who} has no access to this organisation."
        where = self.tenant_name or str(self.tenant_id)
        held = "; ".join(g.describe() for g in self.grants) or "no admin role"
        if permission is None:
            return f"{who} in {where} holds: {held}."
        if self.blocked:
            return f"Denied: {self.blocked}"
        if self.delegated and permission in DELEGATION_EXCLUSIONS:
            return (
                f"Denied: {permission.value} is never available through delegated "
                "administration (partners can't manage a customer's partners or its own "
                f"partner programme, purchase subscriptions or manage devices). {who} holds "
                f"{held}."
            )
        if self.delegated and permission in self.policy_blocked:
            return (
                f"Denied: {where}'s partner policy blocks {permission.value} for every "
                f"partner. {who} holds {held}."
            )
        granting = [g for g in self.grants if permission in g.permissions]
        if granting:
            return (
                f"Allowed: {who} may {permission.value} in {where} as "
                + "; ".join(g.describe() for g in granting)
                + "."
            )
        extra = (" " + " ".join(self.notes)) if self.notes else ""
        return (
            f"Denied: {permission.value} in {where} needs a role that grants it; "
            f"{who} holds {held}.{extra}"
        )


PathResolver = Callable[[Session, Principal, Tenant, datetime], Decision | None]


def member_path(
    session: Session, principal: Principal, tenant: Tenant, now: datetime
) -> Decision | None:
    """Home tenant: roles assigned to the user and to its groups, in one query."""
    if principal.tenant_id != tenant.id:
        return None
    in_groups = select(GroupMember.group_id).where(GroupMember.user_id == principal.user_id)
    rows = session.execute(
        select(RoleAssignment.role, RoleAssignment.user_id, Group.name)
        .outerjoin(Group, Group.id == RoleAssignment.group_id)
        .where(
            RoleAssignment.tenant_id == tenant.id,
            or_(
                RoleAssignment.user_id == principal.user_id,
                RoleAssignment.group_id.in_(in_groups),
            ),
        )
    ).all()
    grants = tuple(
        sorted(
            (
                Grant(
                    role=Role(role),
                    path=DecisionPath.MEMBER,
                    via="assigned directly" if user_id else f"through group '{group_name}'",
                    permissions=ROLE_PERMISSIONS[Role(role)],
                )
                for role, user_id, group_name in rows
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


# --- the delegated rule, written once as SQL (NetBox's ``restrict()`` pattern) --------------
#
# ``delegated_links`` is which (relationship, access assignment) pairs are live for an agent;
# ``delegated_path`` reads them for one customer to decide one request, ``restrict_to`` turns
# them plus the role, exclusion and policy rules into a condition for sets (the partner views).
# A test on random worlds checks the two agree for every permission.


class _JsonHasAny(FunctionElement[bool]):
    """``json_has_any(list_column, v1, v2, ...)``: the JSON list holds one of the values."""

    type = Boolean()
    name = "json_has_any"
    inherit_cache = True


class _JsonListsShare(FunctionElement[bool]):
    """``json_lists_share(a, b, v1, v2, ...)``: one of the values is in both JSON lists."""

    type = Boolean()
    name = "json_lists_share"
    inherit_cache = True


def _elements(dialect: str, sql: str, alias: str) -> str:
    if dialect == "postgresql":
        return f"json_array_elements_text({sql}) AS {alias}(value)"
    return f"json_each({sql}) AS {alias}"


def _compile_has_any(element: _JsonHasAny, compiler: Any, **kw: Any) -> str:
    column, *values = [compiler.process(c, **kw) for c in element.clauses]
    source = _elements(compiler.dialect.name, column, "jl")
    # Only compiled fragments and bound parameters are joined here, never input.
    return f"EXISTS (SELECT 1 FROM {source} WHERE jl.value IN ({', '.join(values)}))"  # noqa: S608


def _compile_lists_share(element: _JsonListsShare, compiler: Any, **kw: Any) -> str:
    a, b, *values = [compiler.process(c, **kw) for c in element.clauses]
    dialect = compiler.dialect.name
    pairs = f"{_elements(dialect, a, 'ja')}, {_elements(dialect, b, 'jb')}"
    shared = f"ja.value = jb.value AND ja.value IN ({', '.join(values)})"
    return f"EXISTS (SELECT 1 FROM {pairs} WHERE {shared})"  # noqa: S608


compiles(_JsonHasAny)(_compile_has_any)
compiles(_JsonListsShare)(_compile_lists_share)


def json_has_any(column: Any, values: Iterable[str]) -> ColumnElement[bool]:
    """The JSON list in ``column`` holds one of ``values`` (SQLite json_each, PostgreSQL
    json_array_elements_text); false for no values."""
    chosen = sorted(set(values))
    if not chosen:
        return false()
    return _JsonHasAny(column, *[literal(v, String()) for v in chosen])


def json_lists_share(a: Any, b: Any, values: Iterable[str]) -> ColumnElement[bool]:
    """One of ``values`` is in both JSON lists (a role both the relationship and the access
    assignment hold); false for no values."""
    chosen = sorted(set(values))
    if not chosen:
        return false()
    return _JsonListsShare(a, b, *[literal(v, String()) for v in chosen])


def granting_roles(permission: Permission) -> frozenset[Role]:
    """The roles whose permissions include ``permission`` (ROLE_PERMISSIONS, read in Python)."""
    return frozenset(r for r, granted in ROLE_PERMISSIONS.items() if permission in granted)


def delegated_links(
    principal: Principal, now: datetime, customer: Any
) -> Select[uuid.UUID, list[str], list[str]]:
    """(relationship, access assignment) pairs live for this agent in ``customer`` (a tenant id
    or a correlated tenant column): a relationship of its home tenant — still a partner — that
    is active or expiring and not past ``ends_at``, and an assignment whose group holds the
    agent. Auto-extend keeps nothing alive past ``ends_at``: the sweep moves ``ends_at``."""
    groups = select(GroupMember.group_id).where(GroupMember.user_id == principal.user_id)
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


def administrable(principal: Principal, tenant_column: Any, now: datetime) -> ColumnElement[bool]:
    """EXISTS a live link of this agent into the row's tenant: the delegated path reaches it
    (what the agent may do there is ``restrict_to``'s question)."""
    return delegated_links(principal, now, tenant_column).exists()


def restrict_to(
    principal: Principal, permission: Permission, tenant_column: Any, now: datetime
) -> ColumnElement[bool]:
    """A SQL condition true exactly when ``permissions(principal, tenant).allows(permission)``
    on the delegated path, for the tenant in ``tenant_column``: MFA, a live link whose
    relationship and assignment share a role granting it, not a delegation exclusion, not
    blocked by the customer's partner policy."""
    if not principal.mfa or permission in DELEGATION_EXCLUSIONS:
        return false()
    roles = [r.value for r in granting_roles(permission)]
    granted = (
        delegated_links(principal, now, tenant_column)
        .where(json_lists_share(Relationship.roles, AccessAssignment.roles, roles))
        .exists()
    )
    blocked = (
        select(PartnerPolicy.tenant_id)
        .where(
            PartnerPolicy.tenant_id == tenant_column,
            json_has_any(PartnerPolicy.blocked_permissions, [permission.value]),
        )
        .exists()
    )
    return and_(granted, ~blocked)


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


def permissions(
    session: Session, principal: Principal, tenant_id: uuid.UUID, now: datetime | None = None
) -> Decision:
    """The decision for ``principal`` in ``tenant_id``; unreachable when no path leads there."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is not None:
        for resolve in PATHS:
            decision = resolve(session, principal, tenant, now or utcnow())
            if decision is not None:
                return decision
    return Decision(principal, tenant_id, None, None)


def explain(
    session: Session, principal: Principal, tenant_id: uuid.UUID, permission: Permission | None
) -> str:
    return permissions(session, principal, tenant_id).explain(permission)


def decide(ctx: Context, tenant_id: uuid.UUID) -> Decision:
    """The decision for the request's principal, computed once per request and tenant."""
    principal = ctx.require_principal()
    decision: Decision | None = ctx.decisions.get(tenant_id)
    if decision is None:
        decision = ctx.decisions[tenant_id] = permissions(
            ctx.session, principal, tenant_id, ctx.now
        )
    return decision


def require(ctx: Context, tenant_id: uuid.UUID, permission: Permission) -> Decision:
    """The gate at every service entry point: 404 when unreachable, 403 (explained) when not
    allowed; both are audited in a transaction of their own."""
    decision = decide(ctx, tenant_id)
    if not decision.reachable:
        _audit_denial(ctx, decision, permission, "no path to tenant")
        raise NotFound("Organisation not found.")
    if not decision.allows(permission):
        reason = decision.explain(permission)
        _audit_denial(ctx, decision, permission, reason)
        raise Forbidden(reason)
    if decision.delegated:
        # What this request does here is on behalf of the partner, through this relationship.
        ctx.on_behalf[tenant_id] = (
            decision.partner_tenant_id,
            decision.relationship_for(permission),
        )
    return decision


def deny(ctx: Context, decision: Decision, permission: Permission, reason: str) -> Forbidden:
    """A refusal decided by a rule beyond role membership, audited like any other."""
    _audit_denial(ctx, decision, permission, reason)
    return Forbidden(reason)


def _audit_denial(ctx: Context, decision: Decision, permission: Permission, reason: str) -> None:
    principal = ctx.require_principal()
    exists = decision.reachable or ctx.session.get(Tenant, decision.tenant_id) is not None
    # Recorded in the tenant that was probed (its admins should know); if there is no such
    # tenant, in the caller's own.
    where = decision.tenant_id if exists else principal.tenant_id
    audit.record_after_rollback(
        ctx,
        where,
        "access.denied",
        target=f"tenant:{decision.tenant_id}",
        outcome=AuditOutcome.DENIED,
        details={"permission": permission.value, "reason": reason[:400]},
        partner_tenant_id=decision.partner_tenant_id,
        relationship_id=decision.relationship_for(permission),
    )


def user_roles(session: Session, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, set[Role]]:
    """Roles each user holds in its home tenant (direct and through groups)."""
    ids = list(user_ids)
    out: dict[uuid.UUID, set[Role]] = {uid: set() for uid in ids}
    if not ids:
        return out
    direct = session.execute(
        select(RoleAssignment.user_id, RoleAssignment.role).where(RoleAssignment.user_id.in_(ids))
    ).all()
    via_groups = session.execute(
        select(GroupMember.user_id, RoleAssignment.role)
        .join(RoleAssignment, RoleAssignment.group_id == GroupMember.group_id)
        .where(GroupMember.user_id.in_(ids))
    ).all()
    for uid, role in [*direct, *via_groups]:
        if uid is not None:
            out[uid].add(Role(role))
    return out


def is_privileged(roles: set[Role]) -> bool:
    return not roles <= UNPRIVILEGED_ROLES


# --- privileged groups and targets ----------------------------------------------------------
# (docs/architecture.md §2, "No path to power without consent")
#
# A group is privileged when it holds a role in its tenant, is a partner agent group, or is
# named in any access assignment: its members hold power (at home or in customers), so who
# they are is decided like a role assignment, by the tenant's own administrators.


class GroupPower(StrEnum):
    """Why a group is privileged, from the strongest reason down."""

    AGENT_GROUP = "is a partner agent group"
    ACCESS_ASSIGNMENT = "is given customer roles by a partner access assignment"
    ROLE = "holds an admin role"


def _partner_power(group_ids: Any) -> Select[uuid.UUID]:
    """Groups whose members act in customers: agent groups and access-assignment groups."""
    return select(Group.id).where(
        Group.id.in_(group_ids),
        or_(
            Group.agent_level.is_not(None),
            Group.id.in_(select(AccessAssignment.group_id)),
        ),
    )


def group_power(session: Session, group: Group) -> GroupPower | None:
    """Why this group is privileged, or None (one round trip)."""
    if group.agent_level is not None:
        return GroupPower.AGENT_GROUP
    assigned, role = session.execute(
        select(
            select(AccessAssignment.id).where(AccessAssignment.group_id == group.id).exists(),
            select(RoleAssignment.id).where(RoleAssignment.group_id == group.id).exists(),
        )
    ).one()
    if assigned:
        return GroupPower.ACCESS_ASSIGNMENT
    return GroupPower.ROLE if role else None


def partner_may_mint_power(session: Session, tenant_id: uuid.UUID) -> bool:
    """The customer's opt-in (off by default): partners may give admin roles here."""
    policy = session.get(PartnerPolicy, tenant_id)
    return bool(policy and policy.allow_privileged_roles)


def runs_partner_programme(session: Session, tenant_id: uuid.UUID, roles: Iterable[Role]) -> bool:
    """Whether these roles, held in this tenant, would run its partner programme: a role with
    ``partner.manage`` in a partner. Never given on behalf, even with the opt-in: a member who
    runs the programme makes itself an agent, and compromising partner P would reach P's
    customers' customers (the escalation search found this)."""
    if not any(Permission.PARTNER_MANAGE in ROLE_PERMISSIONS[r] for r in roles):
        return False
    return bool(session.scalar(select(Tenant.is_partner).where(Tenant.id == tenant_id)))


PARTNER_PROGRAMME_NEVER = (
    "it would run {tenant}'s partner programme (its agents reach {tenant}'s customers), "
    "which is never handed to a partner, whatever the partner policy"
)


def _group_roles(session: Session, group: Group) -> list[Role]:
    return [
        Role(r)
        for r in session.scalars(
            select(RoleAssignment.role).where(RoleAssignment.group_id == group.id)
        ).all()
    ]


def require_group_change(
    ctx: Context, tenant_id: uuid.UUID, permission: Permission, group: Group
) -> Decision:
    """``require`` for renaming, deleting or changing the members of a group, plus: a
    privileged group also needs ``roles.assign`` on the member path. Through delegation only a
    role-holding group of a customer that opted in may change; agent and access-assignment
    groups never (a partner's partner programme is never delegated)."""
    decision = require(ctx, tenant_id, permission)
    power = group_power(ctx.session, group)
    if power is None:
        return decision
    who = ctx.require_principal().user_principal_name
    held = "; ".join(g.describe() for g in decision.grants) or "no admin role"
    if not decision.allows(Permission.ROLES_ASSIGN):
        raise deny(
            ctx,
            decision,
            Permission.ROLES_ASSIGN,
            f"Denied: '{group.name}' {power.value}, so changing it needs "
            f"{Permission.ROLES_ASSIGN.value} (a Global Administrator of the organisation). "
            f"{who} holds {held}.",
        )
    if decision.delegated and (
        power is not GroupPower.ROLE
        or not partner_may_mint_power(ctx.session, tenant_id)
        or runs_partner_programme(ctx.session, tenant_id, _group_roles(ctx.session, group))
    ):
        if power is not GroupPower.ROLE:
            why = "a partner's agents and access are managed only by its own administrators"
        elif not partner_may_mint_power(ctx.session, tenant_id):
            why = f"{decision.tenant_name}'s partner policy does not let partners give admin roles"
        else:
            why = PARTNER_PROGRAMME_NEVER.format(tenant=decision.tenant_name)
        raise deny(
            ctx,
            decision,
            Permission.ROLES_ASSIGN,
            f"Denied: '{group.name}' {power.value} and {why}; it can't be changed on behalf "
            f"of {decision.tenant_name}.",
        )
    return decision


def require_role_grant(ctx: Context, tenant_id: uuid.UUID, role: Role) -> Decision:
    """``require(roles.assign)`` plus: no standing power minted on behalf. Through
    delegation only the unprivileged roles may be given, unless the customer opted in."""
    decision = require(ctx, tenant_id, Permission.ROLES_ASSIGN)
    if decision.delegated and runs_partner_programme(ctx.session, tenant_id, [role]):
        raise deny(
            ctx,
            decision,
            Permission.ROLES_ASSIGN,
            f"Denied: partners can't give {ROLE_NAMES[role]} on behalf of "
            f"{decision.tenant_name}: "
            + PARTNER_PROGRAMME_NEVER.format(tenant=decision.tenant_name)
            + ".",
        )
    if (
        decision.delegated
        and role not in UNPRIVILEGED_ROLES
        and not partner_may_mint_power(ctx.session, tenant_id)
    ):
        raise deny(
            ctx,
            decision,
            Permission.ROLES_ASSIGN,
            f"Denied: partners can't give {ROLE_NAMES[role]} on behalf of "
            f"{decision.tenant_name}: an admin role given through delegation would outlive "
            "the relationship. The organisation's partner policy can allow it.",
        )
    return decision


def privileged_because(session: Session, user: User) -> str | None:
    """Why acting on this user needs ``users.manage_privileged``: the admin roles it holds,
    or a privileged group it is in (its password is power in customers); None otherwise."""
    roles = user_roles(session, [user.id])[user.id]
    if is_privileged(roles):
        return "holds an admin role (" + ", ".join(sorted(ROLE_NAMES[r] for r in roles)) + ")"
    in_groups = select(GroupMember.group_id).where(GroupMember.user_id == user.id)
    group = session.scalar(
        select(Group.name).where(Group.id.in_(_partner_power(in_groups))).limit(1)
    )
    if group is not None:
        return f"is in '{group}', which administers the partner's customers"
    return None


def require_on_user(
    ctx: Context, tenant_id: uuid.UUID, permission: Permission, target: User
) -> Decision:
    """``require`` plus the limited-admin rule: acting on a privileged user (an admin role
    other than Password Administrator, or a member of a group that administers customers)
    needs ``users.manage_privileged`` — so Limited administration never escalates to Global,
    and a partner's Password Administrator can't take over a Full agent."""
    decision = require(ctx, tenant_id, permission)
    if decision.allows(Permission.USERS_MANAGE_PRIVILEGED):
        return decision
    because = privileged_because(ctx.session, target)
    if because is not None:
        raise deny(
            ctx,
            decision,
            permission,
            f"Denied: {target.user_principal_name} {because}; only a Global Administrator "
            f"may do this. {ctx.require_principal().user_principal_name} holds "
            + ("; ".join(g.describe() for g in decision.grants) or "no admin role")
            + ".",
        )
    return decision
