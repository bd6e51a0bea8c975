"""Role assignments to users and security groups, and the last-Global-Administrator guard."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, and_, select

from tenantry import access
from tenantry.access.roles import Permission, Role
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import Conflict, InvalidInput, NotFound
from tenantry.core.pagination import Page, paginate
from tenantry.core.scoped import get_scoped
from tenantry.directory.tenants import lock_tenant
from tenantry.models import Group, GroupMember, RoleAssignment, User
from tenantry.models.directory import GroupKind


def global_admin_ids(ctx: Context, tenant_id: uuid.UUID) -> set[uuid.UUID]:
    """Enabled users holding Global Administrator in the tenant, directly or by group."""
    ga = Role.GLOBAL_ADMINISTRATOR.value
    direct = (
        select(RoleAssignment.user_id)
        .join(User, User.id == RoleAssignment.user_id)
        .where(RoleAssignment.tenant_id == tenant_id, RoleAssignment.role == ga, User.enabled)
    )
    grouped = (
        select(GroupMember.user_id)
        .join(RoleAssignment, RoleAssignment.group_id == GroupMember.group_id)
        .join(User, User.id == GroupMember.user_id)
        .where(RoleAssignment.tenant_id == tenant_id, RoleAssignment.role == ga, User.enabled)
    )
    return {uid for uid in ctx.session.scalars(direct.union(grouped)) if uid is not None}


def ensure_global_admin_remains(ctx: Context, tenant_id: uuid.UUID) -> None:
    """Call after a change: an organisation must keep at least one enabled Global Admin.

    The count waits for the tenant's row lock (the one the audit chain's head takes when a
    change is recorded, held to the commit), so concurrent removals count one after another
    and two administrators removing each other at once can't both succeed. Rows first, the
    tenant last: the order every audited change takes its locks in."""
    ctx.session.flush()
    lock_tenant(ctx, tenant_id)
    if not global_admin_ids(ctx, tenant_id):
        raise Conflict(
            "This would leave the organisation without an enabled Global Administrator.",
            slug="last-global-administrator",
        )


def list_assignments(
    ctx: Context,
    tenant_id: uuid.UUID,
    *,
    user_id: uuid.UUID | None,
    group_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> Page[RoleAssignment]:
    access.require(ctx, tenant_id, Permission.ROLES_READ)
    stmt: Select[RoleAssignment] = select(RoleAssignment).where(
        RoleAssignment.tenant_id == tenant_id
    )
    if user_id:
        stmt = stmt.where(RoleAssignment.user_id == user_id)
    if group_id:
        stmt = stmt.where(RoleAssignment.group_id == group_id)
    return paginate(ctx.session, stmt, [RoleAssignment.id], cursor, limit)


def assign_role(
    ctx: Context,
    tenant_id: uuid.UUID,
    role: Role,
    *,
    user_id: uuid.UUID | None,
    group_id: uuid.UUID | None,
) -> RoleAssignment:
    access.require_role_grant(ctx, tenant_id, role)
    if (user_id is None) == (group_id is None):
        raise InvalidInput("Give exactly one of user_id or group_id.")
    if user_id is not None:
        user = get_scoped(ctx.session, User, user_id, tenant_id, "User")
        exists = and_(RoleAssignment.role == role.value, RoleAssignment.user_id == user_id)
        target = f"user:{user.id}"
    else:
        group = get_scoped(ctx.session, Group, group_id, tenant_id, "Group")
        if group.kind != GroupKind.SECURITY:
            raise InvalidInput("Roles can be assigned to security groups only.")
        exists = and_(RoleAssignment.role == role.value, RoleAssignment.group_id == group_id)
        target = f"group:{group.id}"
    if ctx.session.scalar(select(RoleAssignment.id).where(exists)):
        raise Conflict("That role is already assigned there.", slug="duplicate")
    assignment = RoleAssignment(
        tenant_id=tenant_id, role=role.value, user_id=user_id, group_id=group_id, created_at=ctx.now
    )
    ctx.session.add(assignment)
    ctx.session.flush()
    audit.record(ctx, tenant_id, "role.assign", target, details={"role": role.value})
    return assignment


def remove_assignment(ctx: Context, tenant_id: uuid.UUID, assignment_id: uuid.UUID) -> None:
    access.require(ctx, tenant_id, Permission.ROLES_ASSIGN)
    assignment = ctx.session.get(
        RoleAssignment, assignment_id, with_for_update=True, populate_existing=True
    )
    if assignment is None or assignment.tenant_id != tenant_id:
        raise NotFound("Role assignment not found.")
    target = f"user:{assignment.user_id}" if assignment.user_id else f"group:{assignment.group_id}"
    role = assignment.role
    ctx.session.delete(assignment)
    ensure_global_admin_remains(ctx, tenant_id)
    audit.record(ctx, tenant_id, "role.unassign", target, details={"role": role})
