"""Service health, posted by the operator."""

from __future__ import annotations

from typing import Annotated

import typer

from tenantry.cli.base import friendly, group, operator_context, out
from tenantry.support import health

health_app = group("health", "Service health.")


@health_app.command("set")
@friendly
def health_set(
    service: Annotated[str, typer.Argument(help="Service id or name, e.g. mail")],
    status: Annotated[str, typer.Argument(help="healthy, degraded or incident")],
    message: Annotated[str | None, typer.Option(help="What customers should read")] = None,
) -> None:
    """Post a service's health."""
    with operator_context() as ctx:
        row = health.set_status(ctx, service, status, message)
        out.print(f"{row.name}: {row.status}")


@health_app.command("list")
@friendly
def health_list() -> None:
    """Show every service's health."""
    with operator_context() as ctx:
        for item in health.overview(ctx):
            out.print(f"{item.service.name}: {item.service.status}")
