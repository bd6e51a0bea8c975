"""The audit log's evidence: verify every tenant's hash chain."""

from __future__ import annotations

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
) -> None:
    """Check every tenant's audit hash chain; exit 1 if any event was edited or deleted."""
    with operator_context() as ctx:
        tenant_id = tenants.find_tenant(ctx, tenant).id if tenant else None
        problems = list(audit.verify(ctx.session, audit.audit_key(ctx.settings), tenant_id))
    if problems:
        for p in problems:
            err.print(
                f"[red]broken:[/red] tenant {p.tenant_id} event {p.seq}: {p.problem}",
                highlight=False,
            )
        raise typer.Exit(1)
    out.print("Audit chains intact.")


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
