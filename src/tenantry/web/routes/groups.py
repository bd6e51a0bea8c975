"""Groups of a tenant: list, create, rename, delete, and their members (added by user name)."""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import Response

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.directory import groups, role_assignments, users
from tenantry.models.directory import GroupKind
from tenantry.web.pages import Posted, SignedIn, page_tenant, redirect, render_admin, router

pages = router()
PAGE = 25


@pages.get("/admin/{tid}/groups")
def group_list(
    request: Request, ctx: SignedIn, tid: uuid.UUID, cursor: str | None = None
) -> Response:
    tenant = page_tenant(ctx, tid)
    page = groups.list_groups(ctx, tid, cursor=cursor, limit=PAGE)
    return render_admin(request, ctx, tenant, "admin/groups.html", page=page)


@pages.post("/admin/{tid}/groups")
def create_group(request: Request, ctx: SignedIn, tid: uuid.UUID, form: Posted) -> Response:
    group = groups.create_group(
        ctx,
        tid,
        name=form.get("name", ""),
        kind=form.get("kind", GroupKind.SECURITY),
        description=form.get("description", ""),
    )
    return redirect(request, f"/admin/{tid}/groups/{group.id}", f"Group “{group.name}” created.")


@pages.get("/admin/{tid}/groups/{gid}")
def group_page(
    request: Request, ctx: SignedIn, tid: uuid.UUID, gid: uuid.UUID, cursor: str | None = None
) -> Response:
    tenant = page_tenant(ctx, tid)
    group = groups.get_group(ctx, tid, gid)
    members = groups.list_members(ctx, tid, gid, cursor=cursor, limit=PAGE)
    roles = (
        role_assignments.list_assignments(
            ctx, tid, user_id=None, group_id=gid, cursor=None, limit=200
        ).items
        if access.decide(ctx, tid).allows(Permission.ROLES_READ)
        else []
    )
    return render_admin(
        request, ctx, tenant, "admin/group.html", group=group, members=members, roles=roles
    )


@pages.post("/admin/{tid}/groups/{gid}")
def update_group(
    request: Request, ctx: SignedIn, tid: uuid.UUID, gid: uuid.UUID, form: Posted
) -> Response:
    groups.update_group(ctx, tid, gid, name=form.get("name"), description=form.get("description"))
    return redirect(request, f"/admin/{tid}/groups/{gid}", "Saved.")


@pages.post("/admin/{tid}/groups/{gid}/delete")
def delete_group(
    request: Request, ctx: SignedIn, tid: uuid.UUID, gid: uuid.UUID, form: Posted
) -> Response:
    groups.delete_group(ctx, tid, gid)
    return redirect(request, f"/admin/{tid}/groups", "Group deleted.")


@pages.post("/admin/{tid}/groups/{gid}/members")
def add_member(
    request: Request, ctx: SignedIn, tid: uuid.UUID, gid: uuid.UUID, form: Posted
) -> Response:
    user = users.find_by_upn(ctx, tid, form.get("user_principal_name", ""))
    groups.add_member(ctx, tid, gid, user.id)
    return redirect(request, f"/admin/{tid}/groups/{gid}", f"{user.display_name} added.")


@pages.post("/admin/{tid}/groups/{gid}/members/{uid}/remove")
def remove_member(
    request: Request, ctx: SignedIn, tid: uuid.UUID, gid: uuid.UUID, uid: uuid.UUID, form: Posted
) -> Response:
    groups.remove_member(ctx, tid, gid, uid)
    return redirect(request, f"/admin/{tid}/groups/{gid}", "Member removed.")
