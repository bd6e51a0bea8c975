"""The partner program: enrolment and unenrolment."""

from __future__ import annotations

from typing import Annotated

import typer

from tenantry.cli.base import friendly, group, operator_context, out
from tenantry.directory import tenants
from tenantry.partners import enrolment as partners

partner_app = group("partner", "The partner program.")


@partner_app.command("enroll")
@friendly
def partner_enroll(reference: Annotated[str, typer.Argument(help="Tenant id or domain")]) -> None:
    """Enrol a tenant in the partner program."""
    with operator_context() as ctx:
        enrolment = partners.enroll(ctx, tenants.find_tenant(ctx, reference))
        state = "enrolled" if enrolment.newly_enrolled else "already a partner"
        out.print(
            f"{enrolment.tenant.name} is {state}; {partners.ADMIN_AGENTS}: "
            f"{', '.join(enrolment.admin_agents) or 'none'}"
        )


@partner_app.command("unenroll")
@friendly
def partner_unenroll(
    reference: Annotated[str, typer.Argument(help="Tenant id or domain")],
) -> None:
    """Take a tenant out of the partner program: its relationships end now, its requests are
    withdrawn and its offers disabled."""
    with operator_context() as ctx:
        done = partners.unenroll(ctx, tenants.find_tenant(ctx, reference))
        out.print(
            f"{done.tenant.name} is no longer a partner; relationships ended: {done.ended}, "
            f"requests withdrawn: {done.withdrawn}, offers disabled: {done.offers_disabled}"
        )
