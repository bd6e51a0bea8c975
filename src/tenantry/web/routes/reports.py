"""The Partner center's Reports page (issue 14): choose a report, a format and customers,
then download it, streamed (partners/reports.py). Any agent may run the users, licences and
admins reports (each sees what it may read); the relationships report is for partner admins.
Also the customer-group choice that Find and Assist and this page share."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from tenantry.core.errors import InvalidInput
from tenantry.partners import customer_groups, reports
from tenantry.partners import enrolment as partners
from tenantry.partners.reports import ReportFormat, ReportKind
from tenantry.partners.selection import CustomerSelection
from tenantry.web.pages import SignedIn, render, router

pages = router()

REPORT_NAMES: dict[ReportKind, str] = {
    ReportKind.USERS: "Users: enabled, second factor, admin roles, licences, last sign-in",
    ReportKind.LICENSES: "Licences per customer: used and total",
    ReportKind.RELATIONSHIPS: "Relationships: status, roles, start, end, auto-extend "
    "(partner admins)",
    ReportKind.ADMINS: "Admins: users holding admin roles in each customer",
}


def _group_id(value: str | None, what: str) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput(f"Choose {what} from the list.") from None


def web_selection(group: str | None, except_group: str | None) -> CustomerSelection | None:
    """A page's customer choice ("every customer" when the selector says so): a group, and a
    group to leave out."""
    chosen = _group_id(group, "a customer group")
    left_out = _group_id(except_group, "a customer group to leave out")
    if chosen is None and left_out is None:
        return None
    return CustomerSelection(
        groups=(chosen,) if chosen else (), except_groups=(left_out,) if left_out else ()
    )


@pages.get("/partner/reports")
def reports_page(request: Request, ctx: SignedIn) -> Response:
    partner = partners.require_partner(ctx, None)
    values: dict[str, Any] = {
        "partner": partner,
        "section": "reports",
        "reports": REPORT_NAMES,
        "groups": customer_groups.group_choices(ctx),
    }
    return render(request, ctx, "partner/reports.html", **values)


@pages.get("/partner/reports/download")
def download(
    request: Request,
    ctx: SignedIn,
    report: ReportKind = ReportKind.USERS,
    format: ReportFormat = ReportFormat.CSV,
    group: str | None = None,
    except_group: str | None = None,
) -> Response:
    """The chosen report as a file, streamed; refused (as a page) before the first byte."""
    plan = reports.plan_report(ctx, report, web_selection(group, except_group))
    extension = "csv" if format == ReportFormat.CSV else "ndjson"
    return StreamingResponse(
        reports.stream(request.app.state.sessions, plan, format),
        media_type=reports.MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'attachment; filename="{report.value}-report.{extension}"',
            "Cache-Control": "no-store",
        },
    )
