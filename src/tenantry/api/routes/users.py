"""Users and groups of a tenant."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Response

from tenantry.api.deps import Ctx, Cursor, Limit
from tenantry.api.routes import router
from tenantry.api.schemas.common import ItemList, page_of
from tenantry.api.schemas.directory import (
    GroupIn,
    GroupOut,
    GroupPatch,
    MemberIn,
    ResetPasswordOut,
    UserCreatedOut,
    UserIn,
    UserOut,
    UserPatch,
)
from tenantry.directory import groups, users

api = router("directory")


@api.get("/tenants/{tid}/users", response_model=ItemList[UserOut])
def list_users(
    tid: uuid.UUID,
    ctx: Ctx,
    cursor: Cursor = None,
    limit: Limit = 50,
    search: Annotated[str | None, Query(max_length=256)] = None,
) -> ItemList[UserOut]:
    page = users.list_users(ctx, tid, search=search, cursor=cursor, limit=limit)
    return page_of(page, UserOut)


@api.post("/tenants/{tid}/users", status_code=201, response_model=UserCreatedOut)
def create_user(tid: uuid.UUID, body: UserIn, ctx: Ctx) -> UserCreatedOut:
    created = users.create_user(
        ctx,
        tid,
        user_principal_name=body.user_principal_name,
        display_name=body.display_name,
        password=body.password,
        must_change_password=body.must_change_password,
    )
    out = UserCreatedOut.model_validate(created.user)
    out.temporary_password = created.temporary_password
    return out


@api.get("/tenants/{tid}/users/{uid}", response_model=UserOut)
def get_user(tid: uuid.UUID, uid: uuid.UUID, ctx: Ctx) -> UserOut:
    return UserOut.model_validate(users.get_user(ctx, tid, uid))


@api.patch("/tenants/{tid}/users/{uid}", response_model=UserOut)
def patch_user(tid: uuid.UUID, uid: uuid.UUID, body: UserPatch, ctx: Ctx) -> UserOut:
    user = users.update_user(ctx, tid, uid, display_name=body.display_name, enabled=body.enabled)
    return UserOut.model_validate(user)


@api.delete("/tenants/{tid}/users/{uid}", status_code=204)
def delete_user(tid: uuid.UUID, uid: uuid.UUID, ctx: Ctx) -> Response:
    users.delete_user(ctx, tid, uid)
    return Response(status_code=204)


@api.post("/tenants/{tid}/users/{uid}/reset-password", response_model=ResetPasswordOut)
def reset_password(tid: uuid.UUID, uid: uuid.UUID, ctx: Ctx) -> ResetPasswordOut:
    return ResetPasswordOut(temporary_password=users.reset_password(ctx, tid, uid))


@api.post("/tenants/{tid}/users/{uid}/reset-mfa", response_model=UserOut)
def reset_mfa(tid: uuid.UUID, uid: uuid.UUID, ctx: Ctx) -> UserOut:
    """Remove a user's second factors (a lost phone) and end its sessions. The tenant's own
    administrators only, never on behalf; an admin's factor needs users.manage_privileged."""
    return UserOut.model_validate(users.reset_second_factor(ctx, tid, uid))


@api.get("/tenants/{tid}/groups", response_model=ItemList[GroupOut])
def list_groups(
    tid: uuid.UUID, ctx: Ctx, cursor: Cursor = None, limit: Limit = 50
) -> ItemList[GroupOut]:
    page = groups.list_groups(ctx, tid, cursor=cursor, limit=limit)
    return page_of(page, GroupOut)


@api.post("/tenants/{tid}/groups", status_code=201, response_model=GroupOut)
def create_group(tid: uuid.UUID, body: GroupIn, ctx: Ctx) -> GroupOut:
    group = groups.create_group(
        ctx, tid, name=body.name, kind=body.kind, description=body.description
    )
    return GroupOut.model_validate(group)


@api.get("/tenants/{tid}/groups/{gid}", response_model=GroupOut)
def get_group(tid: uuid.UUID, gid: uuid.UUID, ctx: Ctx) -> GroupOut:
    return GroupOut.model_validate(groups.get_group(ctx, tid, gid))


@api.patch("/tenants/{tid}/groups/{gid}", response_model=GroupOut)
def patch_group(tid: uuid.UUID, gid: uuid.UUID, body: GroupPatch, ctx: Ctx) -> GroupOut:
    group = groups.update_group(ctx, tid, gid, name=body.name, description=body.description)
    return GroupOut.model_validate(group)


@api.delete("/tenants/{tid}/groups/{gid}", status_code=204)
def delete_group(tid: uuid.UUID, gid: uuid.UUID, ctx: Ctx) -> Response:
    groups.delete_group(ctx, tid, gid)
    return Response(status_code=204)


@api.get("/tenants/{tid}/groups/{gid}/members", response_model=ItemList[UserOut])
def list_members(
    tid: uuid.UUID, gid: uuid.UUID, ctx: Ctx, cursor: Cursor = None, limit: Limit = 50
) -> ItemList[UserOut]:
    page = groups.list_members(ctx, tid, gid, cursor=cursor, limit=limit)
    return page_of(page, UserOut)


@api.post("/tenants/{tid}/groups/{gid}/members", status_code=201, response_model=UserOut)
def add_member(tid: uuid.UUID, gid: uuid.UUID, body: MemberIn, ctx: Ctx) -> UserOut:
    return UserOut.model_validate(groups.add_member(ctx, tid, gid, body.user_id))


@api.delete("/tenants/{tid}/groups/{gid}/members/{uid}", status_code=204)
def remove_member(tid: uuid.UUID, gid: uuid.UUID, uid: uuid.UUID, ctx: Ctx) -> Response:
    groups.remove_member(ctx, tid, gid, uid)
    return Response(status_code=204)
