"""Security and distribution groups and their members.

Renaming, deleting or changing the members of a privileged group (one that holds a role, is a
partner agent group or is given customer roles by an access assignment) changes who holds
power, so it is decided like a role assignment: ``access.require_group_change``.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import Conflict, InvalidInput, NotFound, parse_choice
from tenantry.core.pagination import Page, paginate
from tenantry.core.scoped import get_scoped
from tenantry.directory.role_assignments import ensure_global_admin_remains
from tenantry.models import Group, GroupMember, User
from tenantry.models.directory import GroupKind
from tenantry.operations import webhooks


def list_groups(
    ctx: Context, tenant_id: uuid.UUID, *, cursor: str | None, limit: int
) -> Page[Group]:
    access.require(ctx, tenant_id, Permission.GROUPS_READ)
    stmt: Select[Group] = select(Group).where(Group.tenant_id == tenant_id)
    return paginate(ctx.session, stmt, [Group.name], cursor, limit)


def get_group(ctx: Context, tenant_id: uuid.UUID, group_id: uuid.UUID) -> Group:
    access.require(ctx, tenant_id, Permission.GROUPS_READ)
    return get_scoped(ctx.session, Group, group_id, tenant_id, "Group")


def _check_name(ctx: Context, tenant_id: uuid.UUID, name: str, current: uuid.UUID | None) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("A group needs a name.")
    clash = ctx.session.scalar(
        select(Group.id).where(Group.tenant_id == tenant_id, Group.name == name)
    )
    if clash and clash != current:
        raise Conflict(f"A group named '{name}' already exists.", slug="duplicate")
    return name


def create_group(
    ctx: Context, tenant_id: uuid.UUID, *, name: str, kind: str, description: str = ""
) -> Group:
    access.require(ctx, tenant_id, Permission.GROUPS_CREATE)
    group_kind = parse_choice(
        GroupKind, kind, "Group kind", refusal="A group is 'security' or 'distribution'."
    )
    group = Group(
        tenant_id=tenant_id,
        name=_check_name(ctx, tenant_id, name, None),
        kind=group_kind,
        description=description.strip(),
        created_at=ctx.now,
    )
    ctx.session.add(group)
    ctx.session.flush()
    audit.record(ctx, tenant_id, "group.create", f"group:{group.id}", details={"name": name})
    webhooks.group_changed(ctx, webhooks.EventType.GROUP_CREATED, group)
    return group


def update_group(
    ctx: Context,
    tenant_id: uuid.UUID,
    group_id: uuid.UUID,
    *,
    name: str | None,
    description: str | None,
) -> Group:
    access.require(ctx, tenant_id, Permission.GROUPS_UPDATE)
    group = get_scoped(ctx.session, Group, group_id, tenant_id, "Group")
    access.require_group_change(ctx, tenant_id, Permission.GROUPS_UPDATE, group)
    if name is not None:
        group.name = _check_name(ctx, tenant_id, name, group.id)
    if description is not None:
        group.description = description.strip()
    audit.record(ctx, tenant_id, "group.update", f"group:{group.id}")
    return group


def delete_group(ctx: Context, tenant_id: uuid.UUID, group_id: uuid.UUID) -> None:
    access.require(ctx, tenant_id, Permission.GROUPS_DELETE)
    group = get_scoped(ctx.session, Group, group_id, tenant_id, "Group", lock=True)
    access.require_group_change(ctx, tenant_id, Permission.GROUPS_DELETE, group)
    if group.agent_level is not None:
        raise Conflict(
            f"'{group.name}' is a partner agent group; set agents to None instead of deleting it.",
            slug="agent-group",
        )
    name = group.name
    webhooks.group_changed(ctx, webhooks.EventType.GROUP_DELETED, group)
    ctx.session.delete(group)
    ensure_global_admin_remains(ctx, tenant_id)
    audit.record(ctx, tenant_id, "group.delete", f"group:{group_id}", details={"name": name})


def list_members(
    ctx: Context, tenant_id: uuid.UUID, group_id: uuid.UUID, *, cursor: str | None, limit: int
) -> Page[User]:
    access.require(ctx, tenant_id, Permission.GROUPS_READ)
    get_scoped(ctx.session, Group, group_id, tenant_id, "Group")
    stmt: Select[User] = (
        select(User)
        .join(GroupMember, GroupMember.user_id == User.id)
        .where(GroupMember.group_id == group_id)
    )
    return paginate(ctx.session, stmt, [User.user_principal_name], cursor, limit)


def add_member(ctx: Context, tenant_id: uuid.UUID, group_id: uuid.UUID, user_id: uuid.UUID) -> User:
    access.require(ctx, tenant_id, Permission.GROUPS_READ)
    # Locked before the check: a role or an access assignment being given to the group
    # meanwhile holds its row's key-share lock, so the check waits for it and sees it.
    group = get_scoped(ctx.session, Group, group_id, tenant_id, "Group", lock=True)
    access.require_member_added(ctx, tenant_id, Permission.GROUPS_UPDATE, group)
    user = get_scoped(ctx.session, User, user_id, tenant_id, "User")
    if ctx.session.get(GroupMember, (group.id, user.id)):
        raise Conflict(f"{user.user_principal_name} is already a member.", slug="duplicate")
    ctx.session.add(GroupMember(group_id=group.id, user_id=user.id, added_at=ctx.now))
    audit.record(
        ctx,
        tenant_id,
        "group.member_add",
        f"group:{group.id}",
        details={"user_id": str(user.id), "upn": user.user_principal_name},
    )
    webhooks.group_changed(ctx, webhooks.EventType.GROUP_MEMBER_ADDED, group, user)
    return user


def remove_member(
    ctx: Context, tenant_id: uuid.UUID, group_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    access.require(ctx, tenant_id, Permission.GROUPS_READ)
    group = get_scoped(ctx.session, Group, group_id, tenant_id, "Group")
    access.require_group_change(ctx, tenant_id, Permission.GROUPS_UPDATE, group)
    membership = ctx.session.get(
        GroupMember, (group.id, user_id), with_for_update=True, populate_existing=True
    )
    if membership is None:
        raise NotFound("That user is not a member of this group.")
    ctx.session.delete(membership)
    ensure_global_admin_remains(ctx, tenant_id)
    audit.record(
        ctx,
        tenant_id,
        "group.member_remove",
        f"group:{group.id}",
        details={"user_id": str(user_id)},
    )
    webhooks.group_changed(ctx, webhooks.EventType.GROUP_MEMBER_REMOVED, group, user_id)
