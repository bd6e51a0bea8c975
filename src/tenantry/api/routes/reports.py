"""Reports across customers (streamed CSV or NDJSON) and Find and Assist's user search
across customers (issue 14): thin adapters over partners/reports.py and
partners/user_search.py.

Who may: any agent runs the users, licences and admins reports and searches users (each
sees only what it may read in each customer); the relationships report is the partner's
own list, for partner admins (partner.manage) only.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from tenantry.api.deps import Ctx, Cursor, Limit
from tenantry.api.problems import MEDIA_TYPE as PROBLEM_MEDIA_TYPE
from tenantry.api.routes import router
from tenantry.api.schemas.common import ItemList, Problem
from tenantry.api.schemas.selection import customer_selection_query
from tenantry.core.errors import ServiceError
from tenantry.partners import reports, user_search
from tenantry.partners.reports import ReportFormat, ReportKind
from tenantry.partners.selection import CustomerSelection

api = router("partner reports")

Selection = Annotated[CustomerSelection | None, Depends(customer_selection_query)]


class NotAcceptable(ServiceError):
    status = 406
    slug = "not-acceptable"
    title = "Not acceptable"


def negotiate(fmt: ReportFormat | None, accept: str | None) -> ReportFormat:
    """``?format=`` wins; else the ``Accept`` header (CSV for */* or none); 406 otherwise."""
    if fmt is not None:
        return fmt
    wanted = [part.split(";")[0].strip().lower() for part in (accept or "*/*").split(",")]
    for media in wanted:
        for choice, media_type in reports.MEDIA_TYPES.items():
            if media == media_type:
                return choice
        if media in ("*/*", "text/*"):
            return ReportFormat.CSV
        if media == "application/*":
            return ReportFormat.NDJSON
    raise NotAcceptable(
        "Reports come as text/csv or application/x-ndjson (or say ?format=csv|ndjson)."
    )


REPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report, streamed",
        "content": {"text/csv": {}, "application/x-ndjson": {}},
    },
    406: {
        "model": Problem,
        "content": {PROBLEM_MEDIA_TYPE: {}},
        "description": "Neither text/csv nor application/x-ndjson is acceptable",
    },
}


def streamed_report(
    request: Request, plan: reports.ReportPlan, kind: ReportKind, fmt: ReportFormat
) -> StreamingResponse:
    """The planned report (access decided, refusals raised) streamed as a download, from a
    session of its own (the request's transaction has ended by the time it is read)."""
    extension = "csv" if fmt == ReportFormat.CSV else "ndjson"
    return StreamingResponse(
        reports.stream(request.app.state.sessions, plan, fmt),
        media_type=reports.MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{kind.value}-report.{extension}"',
            "Cache-Control": "no-store",
        },
    )


def _report_route(kind: ReportKind) -> None:
    """``GET /partner/reports/<kind>``: one route per report (each its own documented path,
    and a refusal matrix entry that needs no path parameter)."""

    def run_report(
        request: Request,
        ctx: Ctx,
        selection: Selection,
        format: Annotated[ReportFormat | None, Query()] = None,
        accept: Annotated[str | None, Header(max_length=1024)] = None,
    ) -> StreamingResponse:
        fmt = negotiate(format, accept)
        return streamed_report(request, reports.plan_report(ctx, kind, selection), kind, fmt)

    api.add_api_route(
        f"/partner/reports/{kind.value}",
        run_report,
        methods=["GET"],
        response_class=StreamingResponse,
        responses=REPORT_RESPONSES,
        name=f"report_{kind.value}",
        summary=f"Report: {kind.value}",
        description=(
            f"The {kind.value} report across the selected customers (every customer by "
            "default; `group`, `customer`, `except_group`, `except_customer`), streamed as "
            "CSV or NDJSON (`Accept` or `?format=csv|ndjson`): only what the agent may read "
            "in each customer appears. Refusals come before the first byte. " + REPORT_WORDS[kind]
        ),
    )


REPORT_WORDS: dict[ReportKind, str] = {
    ReportKind.USERS: "Rows where the agent may read users; admin roles need roles.read and "
    "licences subscriptions.read there (null in NDJSON, empty in CSV, otherwise).",
    ReportKind.LICENSES: "One row per subscription where the agent may read subscriptions.",
    ReportKind.RELATIONSHIPS: "The partner's relationships: partner admins only.",
    ReportKind.ADMINS: "Users holding admin roles where the agent may read roles; their "
    "names need users.read there.",
}

for _kind in ReportKind:
    _report_route(_kind)


class UserHitOut(BaseModel):
    """A user found across customers; a field is null where the agent may not read it in
    that customer (admin roles: roles.read; licences: subscriptions.read)."""

    tenant_id: uuid.UUID
    tenant_name: str
    user_id: uuid.UUID
    user_principal_name: str
    display_name: str
    enabled: bool
    second_factor: bool
    admin_roles: list[str] | None
    licenses: list[str] | None
    last_sign_in_at: datetime | None


@api.get("/partner/users", response_model=ItemList[UserHitOut])
def search_users(
    ctx: Ctx,
    selection: Selection,
    q: Annotated[str | None, Query(max_length=256)] = None,
    disabled: bool | None = None,
    no_second_factor: bool = False,
    admin_role: bool = False,
    unlicensed: bool = False,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ItemList[UserHitOut]:
    """Find and Assist across customers: users by a prefix of their UPN or name, and by
    filters (``disabled``, ``no_second_factor``, ``admin_role`` where the agent may read
    roles, ``unlicensed`` where it may read subscriptions), ordered by UPN."""
    filters = user_search.UserFilters(
        query=q,
        disabled=disabled,
        no_second_factor=no_second_factor,
        admin_role=admin_role,
        unlicensed=unlicensed,
    )
    page = user_search.search_users(ctx, selection, filters, cursor=cursor, limit=limit)
    return ItemList(
        items=[UserHitOut.model_validate(row) for row in page.items],
        next_cursor=page.next_cursor,
    )
