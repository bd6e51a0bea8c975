"""The Partner center's bulk jobs: the list, a new job (fed by Find and Assist's selection:
repeated ``target=<tenant_id>:<user_id>`` query parameters), a CSV upload, and a job's page
with a progress bar that updates live (htmx polls a fragment), its items, the results CSV,
the temporary passwords (once) and cancel. The same services as ``/api/v1/partner/jobs``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from tenantry.core.errors import Forbidden, InvalidInput, parse_choice
from tenantry.models import JobAction, JobItemStatus
from tenantry.partners import enrolment as partners
from tenantry.partners import jobs
from tenantry.partners.selection import CustomerSelection
from tenantry.partners.user_search import UserFilters
from tenantry.web import session as web_session
from tenantry.web.pages import SignedIn, redirect, render, router

pages = router()
PAGE = 100
ACTION_NAMES = {
    JobAction.RESET_PASSWORD: "Reset password (temporary passwords to download once)",
    JobAction.REQUIRE_PASSWORD_CHANGE: "Require a password change",
    JobAction.BLOCK_SIGN_IN: "Block sign-in",
    JobAction.UNBLOCK_SIGN_IN: "Unblock sign-in",
    JobAction.ASSIGN_LICENSE: "Assign a licence (SKU)",
    JobAction.UNASSIGN_LICENSE: "Remove a licence (SKU)",
    JobAction.ADD_TO_GROUP: "Add to a group (by name, in each customer)",
    JobAction.REMOVE_FROM_GROUP: "Remove from a group (by name, in each customer)",
    JobAction.OFFBOARD: "Offboard (block, end sessions, remove licences and groups)",
    JobAction.RAISE_SERVICE_REQUEST: "Raise a service request (over customers)",
}


def _page(request: Request, ctx: SignedIn, template: str, **values: Any) -> Response:
    partner = partners.require_partner(ctx, None)
    return render(request, ctx, template, partner=partner, section="jobs", **values)


@dataclass(frozen=True)
class Submitted:
    form: FormData
    file: bytes  # the uploaded CSV, if any (at most one byte over the limit)


async def submitted(request: Request) -> Submitted:
    """The submitted form (repeated fields kept, a file read), once its CSRF token checks
    out. Async, so the handlers after it (sync: the database) run in the thread pool."""
    form = await request.form()
    token = form.get("csrf_token")
    if not web_session.csrf_valid(request, token if isinstance(token, str) else None):
        raise Forbidden(
            "This form has expired or did not come from this site. Reload the page and try again.",
            slug="csrf",
            title="Form expired",
        )
    upload = form.get("file")
    data = await upload.read(jobs.MAX_CSV_BYTES + 1) if isinstance(upload, UploadFile) else b""
    return Submitted(form, data)


Posted = Annotated[Submitted, Depends(submitted)]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _when(text: str) -> datetime | None:
    """A schedule from the form's date and time, read as UTC; blank: now."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError as exc:
        raise InvalidInput("Start: a date and time such as 2026-12-24T08:00.") from exc


def _params(form: FormData, action: JobAction) -> dict[str, Any]:
    return {name: _text(form, name) for name in jobs.PARAMS.get(action, ())}


def parse_targets(lines: list[str]) -> list[jobs.Target]:
    """``tenant_id:user_id`` (a user) or ``tenant_id`` (a customer), one per line or field."""
    targets = []
    for number, line in enumerate(lines, start=1):
        tenant, _, user = line.strip().partition(":")
        try:
            targets.append(
                jobs.Target(uuid.UUID(tenant), uuid.UUID(user) if user.strip() else None)
            )
        except ValueError as exc:
            raise InvalidInput(
                f"Target {number} is not tenant_id:user_id (or a tenant_id)."
            ) from exc
    return targets


@pages.get("/partner/jobs")
def job_list(request: Request, ctx: SignedIn, cursor: str | None = None) -> Response:
    page = jobs.list_jobs(ctx, cursor=cursor, limit=50)
    return _page(request, ctx, "partner/jobs.html", page=page, names=ACTION_NAMES)


@pages.get("/partner/jobs/new")
def new_job(
    request: Request,
    ctx: SignedIn,
    target: Annotated[list[str] | None, Query(max_length=jobs.MAX_ITEMS)] = None,
    action: str | None = None,
) -> Response:
    chosen = parse_targets(target or [])
    return _page(
        request,
        ctx,
        "partner/job_new.html",
        targets=[f"{t.tenant_id}:{t.user_id}" if t.user_id else str(t.tenant_id) for t in chosen],
        action=action or "",
        names=ACTION_NAMES,
    )


@pages.post("/partner/jobs")
def create_job(request: Request, ctx: SignedIn, posted: Posted) -> Response:
    form = posted.form
    action = parse_choice(JobAction, _text(form, "action"), "Action")
    lines = [v for v in form.getlist("target") if isinstance(v, str) and v.strip()]
    lines += [line for line in _text(form, "targets").splitlines() if line.strip()]
    params, when = _params(form, action), _when(_text(form, "not_before"))
    if lines:
        job = jobs.create_job(ctx, action, params, targets=parse_targets(lines), not_before=when)
    elif form.get("everyone") == "on":
        query = _text(form, "query") or None
        job = jobs.create_job(
            ctx,
            action,
            params,
            customers=CustomerSelection(),
            users=UserFilters(query=query) if action.over_users else None,
            not_before=when,
        )
    else:
        raise InvalidInput("Choose targets, all customers, or upload a CSV.")
    return redirect(request, f"/partner/jobs/{job.id}", f"Job made: {job.total} item(s).")


@pages.post("/partner/jobs/csv")
def create_job_from_csv(request: Request, ctx: SignedIn, posted: Posted) -> Response:
    form = posted.form
    action = _text(form, "action")

    def params() -> dict[str, Any]:
        return _params(form, parse_choice(JobAction, action, "Action"))

    job = jobs.create_from_csv(
        ctx, action, params, lambda: posted.file, not_before=_when(_text(form, "not_before"))
    )
    return redirect(request, f"/partner/jobs/{job.id}", f"Job made: {job.total} item(s).")


def _progress_values(ctx: SignedIn, jid: uuid.UUID) -> dict[str, Any]:
    job = jobs.get_job(ctx, jid)
    return {"job": job, "succeeded": job.done - job.failed - job.refused}


@pages.get("/partner/jobs/{jid}")
def job_page(
    request: Request,
    ctx: SignedIn,
    jid: uuid.UUID,
    cursor: str | None = None,
    status: str | None = None,
) -> Response:
    values = _progress_values(ctx, jid)
    job = values["job"]
    only = parse_choice(JobItemStatus, status, "Status") if status else None
    page = jobs.list_items(ctx, jid, status=only, cursor=cursor, limit=PAGE)
    return _page(
        request,
        ctx,
        "partner/job.html",
        page=page,
        status=status or "",
        customers=jobs.customer_names(ctx, job, {i.tenant_id for i in page.items}),
        names=ACTION_NAMES,
        mine=job.created_by_user_id == ctx.require_principal().user_id,
        **values,
    )


@pages.get("/partner/jobs/{jid}/progress")
def job_progress(request: Request, ctx: SignedIn, jid: uuid.UUID) -> Response:
    """The progress fragment the job page polls (every second, until the job ends)."""
    return _page(request, ctx, "partner/job_progress.html", **_progress_values(ctx, jid))


@pages.get("/partner/jobs/{jid}/results.csv")
def job_results(ctx: SignedIn, jid: uuid.UUID) -> Response:
    return Response(
        "".join(jobs.results_csv(ctx, jid)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="job-{jid}-results.csv"'},
    )


@pages.post("/partner/jobs/{jid}/passwords")
def job_passwords(ctx: SignedIn, jid: uuid.UUID, posted: Posted) -> Response:
    """Once: the passwords are wiped as they are handed over."""
    body = jobs.passwords_csv(jobs.take_passwords(ctx, jid))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="job-{jid}-passwords.csv"'},
    )


@pages.post("/partner/jobs/{jid}/cancel")
def cancel_job(request: Request, ctx: SignedIn, jid: uuid.UUID, posted: Posted) -> Response:
    job = jobs.cancel_job(ctx, jid)
    return redirect(request, f"/partner/jobs/{job.id}", f"Job cancelled: {job.cancelled} item(s).")
