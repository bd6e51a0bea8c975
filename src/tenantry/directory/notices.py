"""What a tenant's administrators and users are told by e-mail about their own directory,
written to the outbox in the same transaction as the change."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from tenantry.core.context import Context
from tenantry.directory.role_assignments import global_admin_ids
from tenantry.models import Tenant, User
from tenantry.operations import outbox


def admin_addresses(ctx: Context, tenant_id: uuid.UUID) -> list[str]:
    """A tenant's Global Administrators and its technical contact."""
    ids = global_admin_ids(ctx, tenant_id)
    addresses = list(
        ctx.session.scalars(
            select(User.user_principal_name)
            .where(User.id.in_(ids))
            .order_by(User.user_principal_name)
        )
    )
    tenant = ctx.session.get(Tenant, tenant_id)
    if (
        tenant
        and tenant.technical_contact_email
        and tenant.technical_contact_email not in addresses
    ):
        addresses.append(tenant.technical_contact_email)
    return addresses


def tell_admins(ctx: Context, tenant_id: uuid.UUID, subject: str, body: str) -> None:
    """One e-mail to each of the tenant's admin addresses."""
    for address in admin_addresses(ctx, tenant_id):
        outbox.enqueue(ctx, recipient=address, subject=subject, body=body, tenant_id=tenant_id)


def privileged_password_reset_on_behalf(ctx: Context, tenant_id: uuid.UUID, user: User) -> None:
    """A partner reset an administrator's password: the customer's other Global
    Administrators should know at once (the second factor was kept)."""
    principal = ctx.require_principal()
    partner = ctx.session.get(Tenant, principal.tenant_id)
    body = (
        f"{principal.name} of your partner {partner.name if partner else '?'} "
        f"reset the password of {user.user_principal_name}, who holds administrative power in "
        "your organisation. Its second factor was kept. If you did not expect this, remove "
        "the partner in Partner relationships and reset the password again."
    )
    for address in admin_addresses(ctx, tenant_id):
        if address != user.user_principal_name:
            outbox.enqueue(
                ctx,
                recipient=address,
                subject=f"A partner reset the password of {user.user_principal_name}",
                body=body,
                tenant_id=tenant_id,
            )


def second_factor_reset(ctx: Context, user: User, by: str) -> None:
    """The user learns at once that its factor is gone (and can raise the alarm if it did
    not ask for this)."""
    outbox.enqueue(
        ctx,
        recipient=user.user_principal_name,
        subject="Your two-step verification was reset",
        body=(
            f"{by} reset the two-step verification of {user.user_principal_name}, and every "
            "session of the account was ended. Sign in with your password and turn two-step "
            "verification on again in Your account. If you did not ask for this, tell your "
            "administrators at once."
        ),
        tenant_id=user.tenant_id,
    )


def global_admin_granted_by_operator(ctx: Context, user: User) -> None:
    """The operator made someone a Global Administrator (recovery): every admin address of
    the organisation hears of it, the new administrator's included."""
    tell_admins(
        ctx,
        user.tenant_id,
        f"{user.user_principal_name} is now a Global Administrator",
        f"The platform operator made {user.user_principal_name} a Global Administrator of "
        "your organisation, to recover it after it lost its administrators. If nobody asked "
        "for this, tell the operator at once.",
    )
