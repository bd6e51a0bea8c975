"""The partner's agents: Full, Limited or no administration, held through the agent groups."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select

from tenantry import access
from tenantry.access.roles import AgentLevel, Permission
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import Conflict
from tenantry.core.scoped import get_scoped
from tenantry.directory.role_assignments import ensure_global_admin_remains
from tenantry.models import Group, GroupMember, User
from tenantry.partners import enrolment as partners


def agent_levels(ctx: Context, users: list[User]) -> dict[uuid.UUID, AgentLevel]:
    """Full / Limited / None for a page of the partner's users, in one query."""
    partner = partners.require_partner(ctx)
    levels: dict[uuid.UUID, set[AgentLevel]] = {u.id: set() for u in users}
    rows = ctx.session.execute(
        select(GroupMember.user_id, Group.agent_level)
        .join(Group, Group.id == GroupMember.group_id)
        .where(
            GroupMember.user_id.in_(list(levels)),
            Group.tenant_id == partner.id,
            Group.agent_level.is_not(None),
        )
    )
    for user_id, level in rows:
        levels[user_id].add(AgentLevel(str(level)))
    return {
        user_id: next(
            (lv for lv in (AgentLevel.FULL, AgentLevel.LIMITED) if lv in held), AgentLevel.NONE
        )
        for user_id, held in levels.items()
    }


def agent_access(ctx: Context, user_id: uuid.UUID) -> tuple[User, AgentLevel]:
    partner = partners.require_partner(ctx)
    user = get_scoped(ctx.session, User, user_id, partner.id, "User")
    return user, agent_levels(ctx, [user])[user.id]


def set_agent_access(ctx: Context, user_id: uuid.UUID, level: AgentLevel) -> User:
    """Full -> *Admin agents*, Limited -> *Helpdesk agents*, None -> neither. Agent groups are
    privileged: only the partner's own administrators (member path, ``roles.assign``) change
    them, and the partner keeps an enabled Global Administrator."""
    user, current = agent_access(ctx, user_id)
    decision = access.require(ctx, user.tenant_id, Permission.ROLES_ASSIGN)
    if current == level:
        return user
    if level != AgentLevel.NONE:
        what = f"making {user.user_principal_name} a {level.value} agent"
        access.require_sign_in_that_may_act_on_behalf(ctx, decision, Permission.ROLES_ASSIGN, what)
    groups = partners.agent_groups(ctx, user.tenant_id)
    if len(groups) != len(partners.AGENT_GROUPS):
        raise Conflict("The agent groups are missing; run 'tenantry partner enroll' again.")
    ctx.session.execute(
        delete(GroupMember).where(
            GroupMember.user_id == user.id,
            GroupMember.group_id.in_([g.id for g in groups.values()]),
        )
    )
    if level != AgentLevel.NONE:
        ctx.session.add(GroupMember(group_id=groups[level].id, user_id=user.id, added_at=ctx.now))
    ensure_global_admin_remains(ctx, user.tenant_id)
    audit.record(
        ctx,
        user.tenant_id,
        "partner.agent.set_access",
        f"user:{user.id}",
        details={"upn": user.user_principal_name, "from": current.value, "to": level.value},
    )
    return user
