"""Outgoing e-mail, the lifecycle sweeper, backup and restore."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tenantry.cli.base import (
    app,
    friendly,
    group,
    operator_context,
    operator_sessions,
    out,
    safe_url,
)
from tenantry.core.config import ConfigurationError, load_settings
from tenantry.operations import backup as backups
from tenantry.operations import outbox
from tenantry.operations import sweeper as jobs
from tenantry.partners import job_runner

outbox_app = group("outbox", "Outgoing e-mail.")
jobs_app = group("jobs", "Background work.")


@outbox_app.command("list")
@friendly
def outbox_list(
    pending: Annotated[bool, typer.Option(help="Only messages still to send")] = False,
    limit: Annotated[int, typer.Option(help="How many")] = 50,
) -> None:
    """List e-mail in the outbox, newest first."""
    with operator_context() as ctx:
        messages = outbox.list_messages(ctx.session, pending_only=pending, limit=limit)
        table = Table()
        for column in ("Created", "To", "Subject", "Status", "Attempts", "Sent", "Last error"):
            table.add_column(column)
        for m in messages:
            table.add_row(
                m.created_at.isoformat(timespec="seconds"),
                m.recipient,
                m.subject,
                m.status.value,
                str(m.attempts),
                m.sent_at.isoformat(timespec="seconds") if m.sent_at else "",
                m.last_error or "",
            )
        out.print(table if messages else "The outbox is empty.")


@outbox_app.command("send")
@friendly
def outbox_send() -> None:
    """Deliver pending e-mail over TENANTRY_SMTP_URL now."""
    with operator_context() as ctx:
        if not ctx.settings.smtp_url:
            raise ConfigurationError("TENANTRY_SMTP_URL is not set")
        out.print(f"Sent {outbox.deliver_pending(ctx)} message(s).")


@jobs_app.command("run-once")
@friendly
def jobs_run_once() -> None:
    """Move relationships along their lifecycle, deliver e-mail and webhooks, and run the
    partners' bulk jobs that are due, once."""
    with operator_sessions() as (sessions, settings):
        report, sent = jobs.run_once(sessions, settings, request_id="cli")
        batches = job_runner.run_pending(sessions, settings)
    out.print(
        f"pending expired: {report.pending_expired}, extended: {report.extended}, "
        f"expiring: {report.expiring}, expired: {report.expired}, e-mails sent: {sent}, "
        f"bulk job batches: {batches}"
    )


@app.command("backup")
@friendly
def backup(file: Annotated[Path, typer.Argument(help="A new file to write the backup to")]) -> None:
    """Back up the database while Tenantry serves (SQLite: online backup; PostgreSQL: pg_dump)."""
    settings = load_settings()
    backups.backup(settings.effective_database_url, file)
    out.print(f"Backed up {safe_url(settings)} to {file}.", highlight=False)


@app.command("restore")
@friendly
def restore(file: Annotated[Path, typer.Argument(help="A file 'tenantry backup' wrote")]) -> None:
    """Restore a backup into the configured database, which must be empty."""
    settings = load_settings()
    backups.restore(settings.effective_database_url, file)
    out.print(
        f"Restored {file} into {safe_url(settings)}. Next: 'tenantry db upgrade', then "
        "'tenantry audit verify --checkpoint' with your latest checkpoint (same secret key).",
        highlight=False,
    )
