"""Service requests and their comments."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query

from tenantry.api.deps import Ctx, Cursor, Limit
from tenantry.api.routes import router
from tenantry.api.schemas.common import ItemList, page_of
from tenantry.api.schemas.support import (
    CommentIn,
    CommentOut,
    RequestStatus,
    ServiceRequestIn,
    ServiceRequestOut,
    ServiceRequestPatch,
)
from tenantry.support import requests as support

api = router("service requests")


@api.get("/tenants/{tid}/service-requests", response_model=ItemList[ServiceRequestOut])
def list_requests(
    tid: uuid.UUID,
    ctx: Ctx,
    cursor: Cursor = None,
    limit: Limit = 50,
    status: Annotated[RequestStatus | None, Query()] = None,
) -> ItemList[ServiceRequestOut]:
    page = support.list_requests(ctx, tid, status=status, cursor=cursor, limit=limit)
    return page_of(page, ServiceRequestOut)


@api.post("/tenants/{tid}/service-requests", status_code=201, response_model=ServiceRequestOut)
def create_request(tid: uuid.UUID, body: ServiceRequestIn, ctx: Ctx) -> ServiceRequestOut:
    request = support.create_request(
        ctx, tid, title=body.title, description=body.description, severity=body.severity
    )
    return ServiceRequestOut.model_validate(request)


@api.get("/tenants/{tid}/service-requests/{rid}", response_model=ServiceRequestOut)
def get_request(tid: uuid.UUID, rid: uuid.UUID, ctx: Ctx) -> ServiceRequestOut:
    return ServiceRequestOut.model_validate(support.get_request(ctx, tid, rid))


@api.patch("/tenants/{tid}/service-requests/{rid}", response_model=ServiceRequestOut)
def patch_request(
    tid: uuid.UUID, rid: uuid.UUID, body: ServiceRequestPatch, ctx: Ctx
) -> ServiceRequestOut:
    request = support.update_request(ctx, tid, rid, status=body.status, severity=body.severity)
    return ServiceRequestOut.model_validate(request)


@api.get("/tenants/{tid}/service-requests/{rid}/comments", response_model=ItemList[CommentOut])
def list_comments(tid: uuid.UUID, rid: uuid.UUID, ctx: Ctx) -> ItemList[CommentOut]:
    return ItemList(
        items=[CommentOut.model_validate(c) for c in support.list_comments(ctx, tid, rid)]
    )


@api.post(
    "/tenants/{tid}/service-requests/{rid}/comments", status_code=201, response_model=CommentOut
)
def add_comment(tid: uuid.UUID, rid: uuid.UUID, body: CommentIn, ctx: Ctx) -> CommentOut:
    return CommentOut.model_validate(support.add_comment(ctx, tid, rid, body.body))
