"""Service requests raised in a tenant, possibly by a partner agent on its behalf."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import InvalidInput, parse_choice
from tenantry.core.pagination import Page, paginate
from tenantry.core.scoped import get_scoped
from tenantry.models import ServiceRequest, ServiceRequestComment
from tenantry.models.support import RequestStatus, Severity


def list_requests(
    ctx: Context,
    tenant_id: uuid.UUID,
    *,
    status: RequestStatus | None,
    cursor: str | None,
    limit: int,
) -> Page[ServiceRequest]:
    access.require(ctx, tenant_id, Permission.SERVICE_REQUESTS_READ)
    stmt: Select[ServiceRequest] = select(ServiceRequest).where(
        ServiceRequest.tenant_id == tenant_id
    )
    if status:
        stmt = stmt.where(ServiceRequest.status == status)
    return paginate(
        ctx.session,
        stmt,
        [ServiceRequest.created_at, ServiceRequest.id],
        cursor,
        limit,
        descending=True,
    )


def get_request(ctx: Context, tenant_id: uuid.UUID, rid: uuid.UUID) -> ServiceRequest:
    access.require(ctx, tenant_id, Permission.SERVICE_REQUESTS_READ)
    return get_scoped(ctx.session, ServiceRequest, rid, tenant_id, "Service request")


def create_request(
    ctx: Context,
    tenant_id: uuid.UUID,
    *,
    title: str,
    description: str,
    severity: str = Severity.MEDIUM,
) -> ServiceRequest:
    access.require(ctx, tenant_id, Permission.SERVICE_REQUESTS_CREATE)
    if not title.strip() or not description.strip():
        raise InvalidInput("A service request needs a title and a description.")
    chosen_severity = parse_choice(Severity, severity, "Severity")
    principal = ctx.require_principal()
    request = ServiceRequest(
        tenant_id=tenant_id,
        title=title.strip(),
        description=description.strip(),
        severity=chosen_severity,
        status=RequestStatus.OPEN,
        created_by_user_id=principal.user_id if principal.tenant_id == tenant_id else None,
        created_by_tenant_id=principal.tenant_id,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(request)
    ctx.session.flush()
    audit.record(
        ctx,
        tenant_id,
        "service_request.create",
        f"service_request:{request.id}",
        details={"title": request.title, "severity": chosen_severity},
    )
    return request


def update_request(
    ctx: Context, tenant_id: uuid.UUID, rid: uuid.UUID, *, status: str | None, severity: str | None
) -> ServiceRequest:
    access.require(ctx, tenant_id, Permission.SERVICE_REQUESTS_UPDATE)
    request = get_scoped(ctx.session, ServiceRequest, rid, tenant_id, "Service request")
    if status is not None:
        request.status = parse_choice(RequestStatus, status, "Status")
    if severity is not None:
        request.severity = parse_choice(Severity, severity, "Severity")
    request.updated_at = ctx.now
    audit.record(
        ctx,
        tenant_id,
        "service_request.update",
        f"service_request:{request.id}",
        details={"status": request.status, "severity": request.severity},
    )
    return request


def list_comments(
    ctx: Context, tenant_id: uuid.UUID, rid: uuid.UUID
) -> list[ServiceRequestComment]:
    access.require(ctx, tenant_id, Permission.SERVICE_REQUESTS_READ)
    get_scoped(ctx.session, ServiceRequest, rid, tenant_id, "Service request")
    return list(
        ctx.session.scalars(
            select(ServiceRequestComment)
            .where(ServiceRequestComment.service_request_id == rid)
            .order_by(ServiceRequestComment.created_at, ServiceRequestComment.id)
        )
    )


def add_comment(
    ctx: Context, tenant_id: uuid.UUID, rid: uuid.UUID, body: str
) -> ServiceRequestComment:
    access.require(ctx, tenant_id, Permission.SERVICE_REQUESTS_UPDATE)
    request = get_scoped(ctx.session, ServiceRequest, rid, tenant_id, "Service request")
    if not body.strip():
        raise InvalidInput("A comment can't be empty.")
    principal = ctx.require_principal()
    comment = ServiceRequestComment(
        service_request_id=request.id,
        author_user_id=principal.user_id if principal.tenant_id == tenant_id else None,
        author_user_principal_name=principal.name,
        body=body.strip(),
        created_at=ctx.now,
    )
    ctx.session.add(comment)
    request.updated_at = ctx.now
    ctx.session.flush()
    audit.record(ctx, tenant_id, "service_request.comment", f"service_request:{request.id}")
    return comment
