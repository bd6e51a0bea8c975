"""Partners' bulk jobs for the operator: ``tenantry jobs list`` and ``tenantry jobs watch ID``
(a progress bar read from the database, whichever process runs the job)."""

from __future__ import annotations

import time
import uuid
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from tenantry.cli.base import friendly, operator_context, operator_sessions, out
from tenantry.cli.operations import jobs_app
from tenantry.core.errors import NotFound
from tenantry.models import Job, JobStatus, Tenant


@jobs_app.command("list")
@friendly
def jobs_list(
    partner: Annotated[str | None, typer.Option(help="Only this partner's (tenant id)")] = None,
    status: Annotated[JobStatus | None, typer.Option(help="Only jobs in this status")] = None,
    limit: Annotated[int, typer.Option(help="How many")] = 50,
) -> None:
    """Partners' bulk jobs, newest first, with their progress."""
    with operator_context() as ctx:
        stmt = (
            select(Job, Tenant.name)
            .join(Tenant, Tenant.id == Job.partner_tenant_id)
            .order_by(Job.created_at.desc())
            .limit(limit)
        )
        if partner:
            stmt = stmt.where(Job.partner_tenant_id == _uuid(partner))
        if status:
            stmt = stmt.where(Job.status == status)
        table = Table()
        table.add_column("id", no_wrap=True)
        for column in ("partner", "by", "action", "status", "done", "failed", "refused"):
            table.add_column(column)
        for job, name in ctx.session.execute(stmt):
            table.add_row(
                str(job.id),
                name,
                job.created_by_upn,
                job.action.value,
                job.status.value,
                f"{job.done}/{job.total}",
                str(job.failed),
                str(job.refused),
            )
        out.print(table)


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound(f"{text} is not a job id.") from None


@jobs_app.command("watch")
@friendly
def jobs_watch(
    job_id: Annotated[str, typer.Argument(help="The job's id")],
    interval: Annotated[float, typer.Option(help="Seconds between looks")] = 0.5,
) -> None:
    """A progress bar until the job ends; exits 1 if any item failed or was refused."""
    jid = _uuid(job_id)
    with operator_sessions() as (sessions, _):
        with sessions() as session:
            job = session.get(Job, jid)
            if job is None:
                raise NotFound(f"There is no job {job_id}.")
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("failed {task.fields[failed]}, refused {task.fields[refused]}"),
            TimeElapsedColumn(),
            console=out,
        ) as progress:
            task = progress.add_task(job.action.value, total=job.total, failed=0, refused=0)
            while True:
                with sessions() as session:
                    job = session.get(Job, jid)
                    assert job is not None
                progress.update(
                    task,
                    completed=job.done + job.cancelled,
                    description=f"{job.action.value} ({job.status.value})",
                    failed=job.failed,
                    refused=job.refused,
                )
                if job.status.ended:
                    break
                time.sleep(interval)
    out.print(
        f"{job.status.value}: {job.done - job.failed - job.refused} succeeded, "
        f"{job.failed} failed, {job.refused} refused, {job.cancelled} cancelled"
    )
    if job.failed or job.refused:
        raise typer.Exit(1)
