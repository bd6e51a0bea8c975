"""The Partner center's Reports page (issue 14): choose a report, a format and customers,
then download it, streamed (partners/reports.py). Any agent may run the users, licences and
admins reports (each sees what it may read); the relationships report is for partner admins.
Also the customer-group choice that Find and Assist and this page share."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from tenantry.api.routes.reports import streamed_report
from tenantry.partners import customer_groups, reports
from tenantry.partners import enrolment as partners
from tenantry.partners.reports import ReportFormat, ReportKind
from tenantry.partners.selection import CustomerSelection
from tenantry.web.forms import optional_uuid
from tenantry.web.pages import SignedIn, render, router

pages = router()

REPORT_NAMES: dict[ReportKind, str] = {
    ReportKind.USERS: "Users: enabled, second factor, admin roles, licences, last sign-in",
    ReportKind.LICENSES: "Licences per customer: used and total",
    ReportKind.RELATIONSHIPS: "Relationships: status, roles, start, end, auto-extend "
    "(partner admins)",
    ReportKind.ADMINS: "Admins: users holding admin roles in each customer",
}


def web_selection(group: str | None, except_group: str | None) -> CustomerSelection | None:
    """A page's customer choice ("every customer" when the selector says so): a group, and a
    group to leave out."""
    chosen = optional_uuid(group, "Choose a customer group from the list.")
    left_out = optional_uuid(except_group, "Choose a customer group to leave out from the list.")
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
    return streamed_report(request, plan, report, format)
