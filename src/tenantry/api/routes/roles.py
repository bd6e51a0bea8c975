"""The role catalogue and role assignments."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Response

from tenantry.access.roles import ROLE_DESCRIPTIONS, ROLE_NAMES, ROLE_PERMISSIONS, Role
from tenantry.api.deps import Ctx, Cursor, Limit
from tenantry.api.routes import router
from tenantry.api.schemas.common import ItemList, page_of
from tenantry.api.schemas.directory import RoleAssignmentIn, RoleAssignmentOut, RoleOut
from tenantry.directory import role_assignments

api = router("roles")


@api.get("/roles", response_model=ItemList[RoleOut])
def list_roles(ctx: Ctx) -> ItemList[RoleOut]:
    return ItemList(
        items=[
            RoleOut(
                id=role,
                name=ROLE_NAMES[role],
                description=ROLE_DESCRIPTIONS[role],
                permissions=sorted(p.value for p in ROLE_PERMISSIONS[role]),
            )
            for role in Role
        ]
    )


@api.get("/tenants/{tid}/role-assignments", response_model=ItemList[RoleAssignmentOut])
def list_assignments(
    tid: uuid.UUID,
    ctx: Ctx,
    cursor: Cursor = None,
    limit: Limit = 50,
    user_id: Annotated[uuid.UUID | None, Query()] = None,
    group_id: Annotated[uuid.UUID | None, Query()] = None,
) -> ItemList[RoleAssignmentOut]:
    page = role_assignments.list_assignments(
        ctx, tid, user_id=user_id, group_id=group_id, cursor=cursor, limit=limit
    )
    return page_of(page, RoleAssignmentOut)


@api.post("/tenants/{tid}/role-assignments", status_code=201, response_model=RoleAssignmentOut)
def assign(tid: uuid.UUID, body: RoleAssignmentIn, ctx: Ctx) -> RoleAssignmentOut:
    assignment = role_assignments.assign_role(
        ctx, tid, body.role, user_id=body.user_id, group_id=body.group_id
    )
    return RoleAssignmentOut.model_validate(assignment)


@api.delete("/tenants/{tid}/role-assignments/{aid}", status_code=204)
def unassign(tid: uuid.UUID, aid: uuid.UUID, ctx: Ctx) -> Response:
    role_assignments.remove_assignment(ctx, tid, aid)
    return Response(status_code=204)
