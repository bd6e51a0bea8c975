"""SCIM Groups mapped onto the directory's security groups: every change goes through
``directory.groups`` (create, rename, add and remove members, delete), so a privileged group —
one that holds a role, a partner's agent group, a group named in an access assignment or
approving activations — is refused to a provisioning token (``access.require_group_change``:
it holds no ``roles.assign``), as are deleting the last Global Administrator's group and
members from another organisation.

Members are users of the same organisation (nested groups are not kept).
"""

from __future__ import annotations

import uuid
from typing import Any

from scim2_models import (
    Context as ScimContext,
)
from scim2_models import (
    InvalidValueException,
    MutabilityException,
    PatchOp,
)
from sqlalchemy import select, true

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import NotFound
from tenantry.core.scoped import get_scoped
from tenantry.directory import groups as directory
from tenantry.models import Group, GroupKind, GroupMember, User
from tenantry.provisioning import filters, resources
from tenantry.provisioning.common import (
    PATCH_POLICY,
    Found,
    Paging,
    bounded,
    check_if_match,
    object_body,
    page,
    version_of,
)

MAX_EXTERNAL_ID = 512
NESTED = "Tenantry's groups hold users only; a group can't be a member of a group."


def represent_all(ctx: Context, base: str, groups: list[Group]) -> list[resources.Group]:
    ids = [g.id for g in groups]
    members: dict[uuid.UUID, list[resources.Member]] = {i: [] for i in ids}
    if ids:
        for group_id, user_id in ctx.session.execute(
            select(GroupMember.group_id, GroupMember.user_id)
            .where(GroupMember.group_id.in_(ids))
            .order_by(GroupMember.added_at, GroupMember.user_id)
        ):
            members[group_id].append(
                resources.Member.model_validate(
                    {"value": str(user_id), "$ref": f"{base}/Users/{user_id}"}
                )
            )
    out = []
    for group in groups:
        resource = resources.Group(
            id=str(group.id),
            external_id=group.external_id,
            display_name=group.name,
            members=members[group.id] or None,
        )
        resource.meta = resources.Meta(
            resource_type="Group",
            created=group.created_at,
            last_modified=group.updated_at or group.created_at,
            location=f"{base}/Groups/{group.id}",
            version=version_of(resource.model_dump(scim_ctx=ScimContext.RESOURCE_QUERY_RESPONSE)),
        )
        out.append(resource)
    return out


def represent(ctx: Context, base: str, group: Group) -> resources.Group:
    return represent_all(ctx, base, [group])[0]


def _id(group_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(group_id)
    except ValueError:
        raise NotFound("Group not found.") from None


def get_group(ctx: Context, tenant_id: uuid.UUID, base: str, group_id: str) -> resources.Group:
    return represent(ctx, base, directory.get_group(ctx, tenant_id, _id(group_id)))


def list_groups(
    ctx: Context, tenant_id: uuid.UUID, base: str, filter_text: str | None, paging: Paging
) -> Found[resources.Group]:
    access.require(ctx, tenant_id, Permission.GROUPS_READ)
    condition = filters.groups(filter_text) if filter_text else true()
    total, rows = page(
        ctx.session,
        select(Group).where(Group.tenant_id == tenant_id),
        condition,
        [Group.created_at, Group.id],
        paging,
    )
    return Found(total, paging.start_index, represent_all(ctx, base, rows))


# --- writing -------------------------------------------------------------------------------


def _member(item: Any) -> dict[str, Any]:
    """A member as sent, kept to what Tenantry keeps (value and $ref); the display name and
    type an identity system may add are read, not stored."""
    if not isinstance(item, dict):
        raise InvalidValueException(detail="Each member is an object with a value.")
    kept: dict[str, Any] = {}
    for key, value in item.items():
        lowered = key.lower()
        if lowered == "type" and isinstance(value, str) and value.lower() == "group":
            raise InvalidValueException(detail=NESTED)
        if lowered == "value":
            kept["value"] = value
        elif lowered == "$ref":
            kept["$ref"] = value
    return kept


def _members(value: Any) -> Any:
    if isinstance(value, list):
        return [_member(item) for item in value]
    if isinstance(value, dict):
        return _member(value)
    return value


def _input(body: Any, *, current: resources.Group | None) -> resources.Group:
    picked: dict[str, Any] = {}
    for key, value in object_body(body).items():
        lowered = key.lower()
        if lowered == "displayname":
            picked["displayName"] = value
        elif lowered == "externalid":
            picked["externalId"] = value
        elif lowered == "members":
            picked["members"] = _members(value)
    name = picked.get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise InvalidValueException(detail="displayName is required.")
    bounded(name, 256, "displayName")
    return resources.Group.model_validate(picked)


def _member_ids(ctx: Context, tenant_id: uuid.UUID, group: resources.Group) -> list[uuid.UUID]:
    """The users a group's members name, each once, all of this organisation (else 400)."""
    wanted: list[uuid.UUID] = []
    for member in group.members or []:
        if not member.value:
            raise InvalidValueException(detail="Each member needs a value (a user's id).")
        try:
            user_id = uuid.UUID(member.value)
        except ValueError:
            raise InvalidValueException(detail=f"{member.value!r} is not a user's id.") from None
        if user_id not in wanted:
            wanted.append(user_id)
    if wanted:
        found = set(
            ctx.session.scalars(
                select(User.id).where(User.id.in_(wanted), User.tenant_id == tenant_id)
            )
        )
        missing = [str(u) for u in wanted if u not in found]
        if missing:
            raise InvalidValueException(
                detail=f"No user of this organisation has the id {', '.join(missing)}."
            )
    return wanted


def create_group(ctx: Context, tenant_id: uuid.UUID, base: str, body: Any) -> resources.Group:
    access.require(ctx, tenant_id, Permission.GROUPS_CREATE)
    data = _input(body, current=None)
    assert data.display_name is not None
    if data.external_id is not None and len(data.external_id) > MAX_EXTERNAL_ID:
        raise InvalidValueException(detail=f"externalId is at most {MAX_EXTERNAL_ID} characters.")
    members = _member_ids(ctx, tenant_id, data)
    group = directory.create_group(
        ctx, tenant_id, name=data.display_name, kind=GroupKind.SECURITY.value
    )
    if data.external_id is not None:
        group.external_id = data.external_id
        audit.record(
            ctx,
            tenant_id,
            "group.update",
            f"group:{group.id}",
            details={"name": group.name, "fields": ["external_id"]},
        )
    for user_id in members:
        directory.add_member(ctx, tenant_id, group.id, user_id)
    ctx.session.flush()
    return represent(ctx, base, group)


def _locked(ctx: Context, tenant_id: uuid.UUID, group_id: str) -> Group:
    access.require(ctx, tenant_id, Permission.GROUPS_READ)
    return get_scoped(ctx.session, Group, _id(group_id), tenant_id, "Group", lock=True)


def _apply(
    ctx: Context,
    tenant_id: uuid.UUID,
    group: Group,
    before: resources.Group,
    after: resources.Group,
) -> None:
    if after.display_name is None or not after.display_name.strip():
        raise MutabilityException(detail="displayName is required.")
    bounded(after.display_name, 256, "displayName")
    changed = False
    if after.display_name != before.display_name:
        directory.update_group(ctx, tenant_id, group.id, name=after.display_name, description=None)
        changed = True
    if after.external_id is not None and len(after.external_id) > MAX_EXTERNAL_ID:
        raise InvalidValueException(detail=f"externalId is at most {MAX_EXTERNAL_ID} characters.")
    if after.external_id != before.external_id:
        access.require_group_change(ctx, tenant_id, Permission.GROUPS_UPDATE, group)
        group.external_id = after.external_id
        audit.record(
            ctx,
            tenant_id,
            "group.update",
            f"group:{group.id}",
            details={"name": group.name, "fields": ["external_id"]},
        )
        changed = True
    had = [uuid.UUID(m.value) for m in before.members or [] if m.value]
    wanted = _member_ids(ctx, tenant_id, after)
    for user_id in had:
        if user_id not in wanted:
            directory.remove_member(ctx, tenant_id, group.id, user_id)
            changed = True
    for user_id in wanted:
        if user_id not in had:
            directory.add_member(ctx, tenant_id, group.id, user_id)
            changed = True
    if changed:
        group.updated_at = ctx.now
    ctx.session.flush()


def replace_group(
    ctx: Context, tenant_id: uuid.UUID, base: str, group_id: str, body: Any, if_match: str | None
) -> resources.Group:
    group = _locked(ctx, tenant_id, group_id)
    current = represent(ctx, base, group)
    assert current.meta is not None and current.meta.version is not None
    check_if_match(if_match, current.meta.version)
    after = _input(body, current=current)
    _apply(ctx, tenant_id, group, current, after)
    return represent(ctx, base, group)


def _patch_body(body: dict[str, Any]) -> dict[str, Any]:
    """The PATCH with members kept to value and $ref (what identity systems add besides, a
    display name or a type, is read, not stored)."""
    operations = body.get("Operations", body.get("operations"))
    if not isinstance(operations, list):
        return body
    cleaned = []
    for operation in operations:
        if isinstance(operation, dict):
            operation = dict(operation)
            path = str(operation.get("path") or "").lower()
            value = operation.get("value")
            if path == "members":
                operation["value"] = _members(value)
            elif not path and isinstance(value, dict):
                operation["value"] = {
                    k: (_members(v) if k.lower() == "members" else v) for k, v in value.items()
                }
        cleaned.append(operation)
    return (
        {**body, "Operations": cleaned}
        if "Operations" in body
        else {
            **body,
            "operations": cleaned,
        }
    )


def patch_group(
    ctx: Context, tenant_id: uuid.UUID, base: str, group_id: str, body: Any, if_match: str | None
) -> resources.Group:
    group = _locked(ctx, tenant_id, group_id)
    current = represent(ctx, base, group)
    assert current.meta is not None and current.meta.version is not None
    check_if_match(if_match, current.meta.version)
    before = current.model_copy(deep=True)
    before.meta = None
    after = before.model_copy(deep=True)
    with PATCH_POLICY:
        patch = PatchOp[resources.Group].model_validate(
            _patch_body(object_body(body)), scim_ctx=ScimContext.RESOURCE_PATCH_REQUEST
        )
        patch.patch(after)
    _apply(ctx, tenant_id, group, before, after)
    return represent(ctx, base, group)


def delete_group(
    ctx: Context, tenant_id: uuid.UUID, base: str, group_id: str, if_match: str | None
) -> None:
    group = _locked(ctx, tenant_id, group_id)
    if if_match is not None:
        current = represent(ctx, base, group)
        assert current.meta is not None and current.meta.version is not None
        check_if_match(if_match, current.meta.version)
    directory.delete_group(ctx, tenant_id, group.id)
