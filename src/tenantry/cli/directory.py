"""Tenants, and the operator's recovery of a user."""

from __future__ import annotations

from typing import Annotated

import typer

from tenantry.cli.base import friendly, group, operator_context, out
from tenantry.directory import tenants, users

tenant_app = group("tenant", "Tenants.")
user_app = group("user", "Users (the operator's recovery).")


@tenant_app.command("create")
@friendly
def tenant_create(
    name: Annotated[str, typer.Option(help="Organisation name")],
    domain: Annotated[str, typer.Option(help="Initial domain label, e.g. contoso")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, help="First admin's password")
    ],
) -> None:
    """Create a tenant with its first Global Administrator."""
    with operator_context() as ctx:
        new = tenants.create_tenant(
            ctx, organization_name=name, initial_domain=domain, admin_password=password
        )
        out.print(
            f"Created {new.tenant.name} ({new.tenant.id}); admin: {new.admin.user_principal_name}"
        )


@user_app.command("reset-mfa")
@friendly
def user_reset_mfa(upn: Annotated[str, typer.Argument(help="User name, e.g. ann@contoso")]) -> None:
    """Remove a user's second factor (a lost phone) and end its sessions; audited in its
    tenant as the operator, and the user is told by e-mail."""
    with operator_context() as ctx:
        user = users.operator_reset_second_factor(ctx, upn)
        out.print(
            f"Second factor of {user.user_principal_name} removed and its sessions ended; it "
            "signs in with its password and enrols again."
        )


@user_app.command("grant-global-admin")
@friendly
def user_grant_global_admin(
    upn: Annotated[str, typer.Argument(help="User name, e.g. ann@contoso")],
    enable: Annotated[bool, typer.Option(help="Also turn the user on if it is disabled")] = False,
) -> None:
    """Make a user Global Administrator: recovers an organisation that lost its
    administrators; audited in its tenant as the operator, and its admins are told."""
    with operator_context() as ctx:
        user = users.operator_grant_global_admin(ctx, upn, enable=enable)
        out.print(f"{user.user_principal_name} is now a Global Administrator.")
