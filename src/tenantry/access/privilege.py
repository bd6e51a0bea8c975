"""Privileged groups and targets (docs/architecture.md §2, "No path to power without
consent").

A group is privileged when it holds a role in its tenant, is a partner agent group, or is
named in any access assignment (given roles, or approving their activation): its members hold
power (at home or in customers), so who
they are is decided like a role assignment, by the tenant's own administrators. A user is
privileged when it holds an admin role or is in such a group.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from tenantry.access.gate import deny, require
from tenantry.access.grants import Decision
from tenantry.access.paths import second_factor_held_back
from tenantry.access.roles import (
    ROLE_NAMES,
    ROLE_PERMISSIONS,
    UNPRIVILEGED_ROLES,
    Permission,
    Role,
)
from tenantry.core.context import Context
from tenantry.models import (
    AccessAssignment,
    Group,
    GroupMember,
    PartnerPolicy,
    RoleAssignment,
    Tenant,
    User,
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


class GroupPower(StrEnum):
    """Why a group is privileged, from the strongest reason down."""

    AGENT_GROUP = "is a partner agent group"
    ACCESS_ASSIGNMENT = "is given customer roles by a partner access assignment"
    APPROVER = "approves activations of customer roles"
    ROLE = "holds an admin role"


def _partner_power(group_ids: Any) -> Select[uuid.UUID]:
    """Groups whose members act in customers or decide who may: agent groups,
    access-assignment groups and approver groups (a member approves others' activations)."""
    return select(Group.id).where(
        Group.id.in_(group_ids),
        or_(
            Group.agent_level.is_not(None),
            Group.id.in_(select(AccessAssignment.group_id)),
            Group.id.in_(
                select(AccessAssignment.approver_group_id).where(
                    AccessAssignment.approver_group_id.is_not(None)
                )
            ),
        ),
    )


def group_power(session: Session, group: Group) -> GroupPower | None:
    """Why this group is privileged, or None (one round trip)."""
    if group.agent_level is not None:
        return GroupPower.AGENT_GROUP
    assigned, approves, role = session.execute(
        select(
            select(AccessAssignment.id).where(AccessAssignment.group_id == group.id).exists(),
            select(AccessAssignment.id)
            .where(AccessAssignment.approver_group_id == group.id)
            .exists(),
            select(RoleAssignment.id).where(RoleAssignment.group_id == group.id).exists(),
        )
    ).one()
    if assigned:
        return GroupPower.ACCESS_ASSIGNMENT
    if approves:
        return GroupPower.APPROVER
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
    who = ctx.require_principal().name
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


CUSTOMER_POWER = frozenset(
    {GroupPower.AGENT_GROUP, GroupPower.ACCESS_ASSIGNMENT, GroupPower.APPROVER}
)


def require_sign_in_that_may_act_on_behalf(
    ctx: Context, decision: Decision, permission: Permission, what: str
) -> None:
    """Power over customers (an agent level, a place in an agent, access-assignment or
    approver group, an access assignment, an app) is handed out only by a sign-in that could
    use it itself: a second factor, and a passkey where the partner requires one. Otherwise a
    password-only or relayed-TOTP session of a partner administrator would make a new agent
    whose own sign-in the attacker chooses, and the partner's requirement would mean nothing."""
    why = second_factor_held_back(ctx.session, ctx.require_principal())
    if why is not None:
        raise deny(
            ctx,
            decision,
            permission,
            f"Denied: {what} hands out power over customers, so it needs a sign-in that could "
            f"act on behalf itself. {why}",
        )


def require_member_added(
    ctx: Context, tenant_id: uuid.UUID, permission: Permission, group: Group
) -> Decision:
    """``require_group_change`` for adding a member, plus: a group whose members act in
    customers or decide who may (``CUSTOMER_POWER``) takes new members only from a sign-in
    that could act on behalf itself (``require_sign_in_that_may_act_on_behalf``)."""
    decision = require_group_change(ctx, tenant_id, permission, group)
    power = group_power(ctx.session, group)
    if power in CUSTOMER_POWER:
        what = f"adding a member to '{group.name}' (it {power.value})"
        require_sign_in_that_may_act_on_behalf(ctx, decision, Permission.ROLES_ASSIGN, what)
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
            f"may do this. {ctx.require_principal().name} holds "
            + ("; ".join(g.describe() for g in decision.grants) or "no admin role")
            + ".",
        )
    return decision


def require_at_home(
    ctx: Context, tenant_id: uuid.UUID, permission: Permission, what: str
) -> Decision:
    """``permission`` on the member path only: what an organisation owns that would outlive a
    relationship (an event stream of its directory, a credential) is made and managed by its
    own administrators, never by a partner on behalf of it (refused, explained, audited)."""
    decision = require(ctx, tenant_id, permission)
    if decision.delegated:
        raise deny(ctx, decision, permission, managed_at_home(what))
    return decision


def managed_at_home(what: str) -> str:
    """Why ``require_at_home`` refuses a partner acting on behalf, in words."""
    return (
        f"Denied: {what} are managed only by the organisation's own administrators, never "
        "on behalf of it: what a partner made would outlive the relationship."
    )


def at_home_refusal(decision: Decision, permission: Permission, on_behalf: str) -> str | None:
    """Why a member-path-only action would be refused here, without refusing (nor auditing):
    for a page that says so instead of offering its forms. ``on_behalf`` is the refusal's
    words for a partner acting on behalf; None when the action is allowed."""
    if not decision.reachable or not decision.allows(permission):
        return decision.explain(permission)
    if decision.delegated:
        return on_behalf
    return None
