"""The audit log's evidence: verify every tenant's keyed hash chain, against a checkpoint too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tenantry.audit import chain as audit
from tenantry.cli.base import err, friendly, group, operator_context, out
from tenantry.directory import tenants

audit_app = group("audit", "The audit log.")


@audit_app.command("verify")
@friendly
def audit_verify(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (id or domain)")] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="Also check the heads of this checkpoint (finds chains cut short)"),
    ] = None,
) -> None:
    """Check every tenant's audit hash chain; exit 1 if any event was edited or deleted."""
    with operator_context() as ctx:
        key = audit.audit_key(ctx.settings)
        checkpointed = audit.read_checkpoint(checkpoint.read_text(), key) if checkpoint else None
        tenant_id = tenants.find_tenant(ctx, tenant).id if tenant else None
        problems = list(audit.verify(ctx.session, key, tenant_id))
        if checkpointed:
            problems += audit.verify_checkpoint(ctx.session, checkpointed[1], tenant_id)
    if problems:
        for p in problems:
            err.print(
                f"[red]broken:[/red] tenant {p.tenant_id} event {p.seq}: {p.problem}",
                highlight=False,
            )
        raise typer.Exit(1)
    since = f"; every head of the checkpoint of {checkpointed[0]} is there" if checkpointed else ""
    out.print(f"Audit chains intact{since}.")


@audit_app.command("checkpoint")
@friendly
def audit_checkpoint(
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write here instead of standard output")
    ] = None,
) -> None:
    """Write every tenant's chain head, signed with the audit key, to keep somewhere else;
    'tenantry audit verify --checkpoint FILE' then also finds chains cut short."""
    with operator_context() as ctx:
        document = audit.checkpoint(ctx.session, audit.audit_key(ctx.settings), ctx.now)
    text = json.dumps(document, indent=2) + "\n"
    if out_file is None:
        typer.echo(text, nl=False)
    else:
        out_file.write_text(text)
        err.print(f"Checkpoint of {len(document['heads'])} chain(s) written to {out_file}.")


@audit_app.command("rekey")
@friendly
def audit_rekey(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (id or domain)")] = None,
) -> None:
    """Once after upgrading: rewrite audit chains hashed without the audit key (plain SHA-256)
    with it. Refuses if any chain is broken as it stands."""
    with operator_context() as ctx:
        tenant_id = tenants.find_tenant(ctx, tenant).id if tenant else None
        rewritten = audit.rekey(ctx.session, audit.audit_key(ctx.settings), tenant_id)
    out.print(f"Rekeyed {rewritten} audit event(s).")
