"""``tenantry scim token create|revoke``: the operator's provisioning tokens (SCIM), for an
organisation whose administrators can't make one yet (or to revoke one at once)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from tenantry.cli.base import friendly, group, operator_context, out
from tenantry.directory import tenants
from tenantry.provisioning import tokens

scim_app = group("scim", "Provisioning by SCIM 2.0: the organisations' provisioning tokens.")
token_app = typer.Typer(help="Provisioning tokens.", no_args_is_help=True)
scim_app.add_typer(token_app, name="token")


@token_app.command("create")
@friendly
def token_create(
    reference: Annotated[str, typer.Argument(help="Tenant id or domain")],
    name: Annotated[str, typer.Argument(help="The identity system it is for")],
    expires: Annotated[
        datetime | None, typer.Option(help="When it stops working (ISO 8601, UTC)")
    ] = None,
) -> None:
    """Make a provisioning token (printed this once; audited as the operator)."""
    with operator_context() as ctx:
        tenant = tenants.find_tenant(ctx, reference)
        made = tokens.operator_create_token(ctx, tenant.id, name=name, expires_at=expires)
        out.print(f"SCIM endpoint: <this server>/scim/v2/{tenant.id}", highlight=False)
        out.print(f"Token (shown once): {made.value}", highlight=False)


@token_app.command("revoke")
@friendly
def token_revoke(
    reference: Annotated[str, typer.Argument(help="Tenant id or domain")],
    name: Annotated[str, typer.Argument(help="The token's name")],
) -> None:
    """Revoke a provisioning token by its name: its next request is refused."""
    with operator_context() as ctx:
        tenant = tenants.find_tenant(ctx, reference)
        tokens.revoke_by_name(ctx, tenant.id, name)
        out.print(f"Revoked the provisioning token '{name}' of {tenant.name}.", highlight=False)
