"""Service requests of a tenant: list, raise, read one with its comments, comment, change
its status. A partner agent does the same on behalf of a customer; the services decide."""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import Response

from tenantry.api.schemas.support import CommentIn, ServiceRequestIn, ServiceRequestPatch
from tenantry.models.support import RequestStatus, Severity
from tenantry.support import requests as support
from tenantry.web.forms import parse_form
from tenantry.web.pages import Posted, SignedIn, page_tenant, redirect, render_admin, router

pages = router()
PAGE = 25


@pages.get("/admin/{tid}/service-requests")
def request_list(
    request: Request,
    ctx: SignedIn,
    tid: uuid.UUID,
    status: str | None = None,
    cursor: str | None = None,
) -> Response:
    tenant = page_tenant(ctx, tid)
    shown = next((s for s in RequestStatus if s == status), None)  # an unknown one: all
    page = support.list_requests(ctx, tid, status=shown, cursor=cursor, limit=PAGE)
    return render_admin(
        request,
        ctx,
        tenant,
        "admin/service_requests.html",
        page=page,
        status=shown or "",
        statuses=list(RequestStatus),
        severities=list(Severity),
    )


@pages.post("/admin/{tid}/service-requests")
def create_request(request: Request, ctx: SignedIn, tid: uuid.UUID, form: Posted) -> Response:
    body = parse_form(form, ServiceRequestIn)
    created = support.create_request(
        ctx, tid, title=body.title, description=body.description, severity=body.severity
    )
    return redirect(
        request,
        f"/admin/{tid}/service-requests/{created.id}",
        f"Request “{created.title}” raised.",
    )


@pages.get("/admin/{tid}/service-requests/{rid}")
def request_page(request: Request, ctx: SignedIn, tid: uuid.UUID, rid: uuid.UUID) -> Response:
    tenant = page_tenant(ctx, tid)
    item = support.get_request(ctx, tid, rid)
    return render_admin(
        request,
        ctx,
        tenant,
        "admin/service_request.html",
        item=item,
        comments=support.list_comments(ctx, tid, rid),
        statuses=list(RequestStatus),
        severities=list(Severity),
    )


@pages.post("/admin/{tid}/service-requests/{rid}")
def update_request(
    request: Request, ctx: SignedIn, tid: uuid.UUID, rid: uuid.UUID, form: Posted
) -> Response:
    body = parse_form(
        form,
        ServiceRequestPatch,
        status=form.get("status") or None,
        severity=form.get("severity") or None,
    )
    support.update_request(ctx, tid, rid, status=body.status, severity=body.severity)
    return redirect(request, f"/admin/{tid}/service-requests/{rid}", "Request updated.")


@pages.post("/admin/{tid}/service-requests/{rid}/comments")
def add_comment(
    request: Request, ctx: SignedIn, tid: uuid.UUID, rid: uuid.UUID, form: Posted
) -> Response:
    comment = support.add_comment(ctx, tid, rid, parse_form(form, CommentIn).body)
    return redirect(
        request, f"/admin/{tid}/service-requests/{rid}#comment-{comment.id}", "Comment added."
    )
