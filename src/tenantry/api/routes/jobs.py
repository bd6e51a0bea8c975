"""Bulk jobs of a partner (DESIGN §7 "Across customers"): made here, run in the background by
``tenantry serve`` (partners/job_runner.py), each item decided as the agent who made it."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import File, Form, Query, UploadFile
from fastapi.responses import Response

from tenantry.api.deps import Ctx, Cursor, Limit
from tenantry.api.routes import router
from tenantry.api.schemas.common import ItemList
from tenantry.api.schemas.jobs import JobIn, JobItemOut, JobOut
from tenantry.core.context import Context
from tenantry.core.errors import InvalidInput
from tenantry.models import Job, JobAction, JobItem, JobItemStatus, JobStatus
from tenantry.partners import jobs

api = router("jobs")


def job_out(job: Job) -> JobOut:
    return JobOut(
        id=job.id,
        action=job.action,
        params=job.params,
        status=job.status,
        total=job.total,
        done=job.done,
        succeeded=job.done - job.failed - job.refused,
        failed=job.failed,
        refused=job.refused,
        cancelled=job.cancelled,
        created_by_upn=job.created_by_upn,
        created_at=job.created_at,
        not_before=job.not_before,
        started_at=job.started_at,
        finished_at=job.finished_at,
        passwords_available=job.action == JobAction.RESET_PASSWORD
        and job.passwords_taken_at is None
        and job.status in (JobStatus.COMPLETED, JobStatus.CANCELLED),
    )


def _csv(body: str, filename: str) -> Response:
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@api.post("/partner/jobs", status_code=202, response_model=JobOut)
def create_job(body: JobIn, ctx: Ctx) -> JobOut:
    """An action over many users or customers, run in the background as you (each item
    decided as you, with this sign-in's second factor). A ``selection`` is resolved now into
    items; at most 50,000."""
    selection = body.selection
    job = jobs.create_job(
        ctx,
        body.action,
        dict(body.params),
        targets=body.target_list(),
        customers=selection.customers.to_selection() if selection and selection.customers else None,
        users=selection.users.to_filters() if selection and selection.users else None,
        not_before=body.not_before,
    )
    return job_out(job)


@api.post("/partner/jobs/csv", status_code=202, response_model=JobOut)
def create_job_from_csv(
    ctx: Ctx,
    action: Annotated[str, Form(max_length=64, description="A user action")] = "",
    file: Annotated[
        UploadFile | None, File(description="CSV with a user_principal_name column")
    ] = None,
    params: Annotated[str, Form(max_length=40_000, description="A JSON object")] = "{}",
    not_before: Annotated[datetime | None, Form()] = None,
) -> JobOut:
    """A user action over the users a CSV names (column ``user_principal_name``), each in
    the customer holding its domain. Rows naming nobody you may read: 422 with their lines."""
    return job_out(
        jobs.create_from_csv(
            ctx,
            action,
            lambda: parse_params(params),
            lambda: read_upload(file),
            not_before=not_before,
        )
    )


def parse_params(text: str) -> dict[str, str]:
    try:
        value = json.loads(text or "{}")
    except ValueError as exc:
        raise InvalidInput("params must be a JSON object.", slug="invalid-params") from exc
    if not isinstance(value, dict):
        raise InvalidInput("params must be a JSON object.", slug="invalid-params")
    return value


def read_upload(file: UploadFile | None) -> bytes:
    if file is None:
        raise InvalidInput("Attach the CSV file (form field 'file').", slug="invalid-csv")
    data = file.file.read(jobs.MAX_CSV_BYTES + 1)
    if len(data) > jobs.MAX_CSV_BYTES:
        raise InvalidInput(f"The file is larger than {jobs.MAX_CSV_BYTES // 1024 // 1024} MB.")
    return data


@api.get("/partner/jobs", response_model=ItemList[JobOut])
def list_jobs(ctx: Ctx, cursor: Cursor = None, limit: Limit = 50) -> ItemList[JobOut]:
    """Newest first: your own jobs; a partner admin sees every job of the partner."""
    page = jobs.list_jobs(ctx, cursor=cursor, limit=limit)
    return ItemList(items=[job_out(j) for j in page.items], next_cursor=page.next_cursor)


@api.get("/partner/jobs/{jid}", response_model=JobOut)
def get_job(jid: uuid.UUID, ctx: Ctx) -> JobOut:
    return job_out(jobs.get_job(ctx, jid))


def items_out(ctx: Context, job: Job, page_items: list[JobItem]) -> list[JobItemOut]:
    names = jobs.customer_names(ctx, job, {i.tenant_id for i in page_items})
    return [
        JobItemOut(
            seq=i.seq,
            tenant_id=i.tenant_id,
            customer_name=names.get(i.tenant_id),
            user_id=i.user_id,
            user_principal_name=i.upn,
            status=i.status,
            message=i.message,
            finished_at=i.finished_at,
        )
        for i in page_items
    ]


@api.get("/partner/jobs/{jid}/items", response_model=ItemList[JobItemOut])
def list_items(
    jid: uuid.UUID,
    ctx: Ctx,
    status: Annotated[JobItemStatus | None, Query()] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ItemList[JobItemOut]:
    """Each item's outcome in order; a refusal's message says why (the decision's words)."""
    job = jobs.get_job(ctx, jid)
    page = jobs.list_items(ctx, jid, status=status, cursor=cursor, limit=limit)
    return ItemList(items=items_out(ctx, job, page.items), next_cursor=page.next_cursor)


CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"}
}


@api.get("/partner/jobs/{jid}/results", response_class=Response, responses=CSV)
def results(jid: uuid.UUID, ctx: Ctx) -> Response:
    """Every item's outcome as CSV."""
    return _csv("".join(jobs.results_csv(ctx, jid)), f"job-{jid}-results.csv")


@api.post("/partner/jobs/{jid}/cancel", response_model=JobOut)
def cancel_job(jid: uuid.UUID, ctx: Ctx) -> JobOut:
    """Items not done yet are cancelled; those done keep their outcome."""
    return job_out(jobs.cancel_job(ctx, jid))


@api.get("/partner/jobs/{jid}/passwords", response_class=Response, responses=CSV)
def passwords(jid: uuid.UUID, ctx: Ctx) -> Response:
    """The temporary passwords of a finished password reset job, as CSV, for its creator,
    once: they are wiped as they are handed over (410 afterwards)."""
    taken = jobs.take_passwords(ctx, jid)
    return _csv(jobs.passwords_csv(taken), f"job-{jid}-passwords.csv")
