"""E-mail about relationships, written to the outbox in the same transaction as the change."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from tenantry.access.roles import ROLE_NAMES, Role
from tenantry.core.context import Context
from tenantry.directory import tenants
from tenantry.directory.role_assignments import global_admin_ids
from tenantry.models import Relationship, Tenant, User
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


def _send(ctx: Context, tenant_id: uuid.UUID, subject: str, body: str) -> None:
    for address in admin_addresses(ctx, tenant_id):
        outbox.enqueue(ctx, recipient=address, subject=subject, body=body, tenant_id=tenant_id)


def _names(ctx: Context, relationship: Relationship) -> tuple[str, str]:
    """The partner by name and verified default domain (names can look alike; domains are
    verified), the customer by name."""
    partner = ctx.session.get(Tenant, relationship.partner_tenant_id)
    customer = ctx.session.get(Tenant, relationship.customer_tenant_id)
    domain = tenants.default_domain(ctx, relationship.partner_tenant_id)
    return (
        tenants.with_domain(partner.name, domain) if partner else "?",
        customer.name if customer else "?",
    )


def _roles(relationship: Relationship) -> str:
    return ", ".join(ROLE_NAMES[Role(r)] for r in relationship.roles)


def relationship_accepted(ctx: Context, relationship: Relationship) -> None:
    partner, customer = _names(ctx, relationship)
    ends = relationship.ends_at.date().isoformat() if relationship.ends_at else "-"
    _send(
        ctx,
        relationship.partner_tenant_id,
        f"{customer} accepted your offer",
        f"{customer} authorised {partner} to administer it with: {_roles(relationship)}.\n"
        f"The relationship is active until {ends} (relationship {relationship.id}).",
    )


def relationship_terminated(ctx: Context, relationship: Relationship, by: str) -> None:
    partner, customer = _names(ctx, relationship)
    if by == "customer":
        _send(
            ctx,
            relationship.partner_tenant_id,
            f"{customer} removed {partner} as partner",
            f"{customer} removed your delegated administration (relationship "
            f"{relationship.id}). Your agents can no longer administer {customer}.",
        )
    else:
        _send(
            ctx,
            relationship.customer_tenant_id,
            f"{partner} ended its delegated administration",
            f"{partner} ended its relationship {relationship.id} with "
            f"{customer}. It can no longer administer your organisation.",
        )


def relationship_expiring(ctx: Context, relationship: Relationship) -> None:
    partner, customer = _names(ctx, relationship)
    ends = relationship.ends_at.date().isoformat() if relationship.ends_at else "-"
    body = (
        f"The delegated administration of {customer} by {partner} ({_roles(relationship)})"
        f" ends on {ends}. To continue, the partner sends a new offer for the customer's "
        "Global Administrator to accept."
    )
    _send(
        ctx,
        relationship.partner_tenant_id,
        f"Delegated administration of {customer} ends on {ends}",
        body,
    )
    _send(
        ctx,
        relationship.customer_tenant_id,
        f"{partner}'s delegated administration ends on {ends}",
        body,
    )


def relationship_expired(ctx: Context, relationship: Relationship) -> None:
    partner, customer = _names(ctx, relationship)
    body = f"The delegated administration of {customer} by {partner} has ended."
    _send(
        ctx, relationship.partner_tenant_id, f"Delegated administration of {customer} ended", body
    )
    _send(ctx, relationship.customer_tenant_id, f"{partner}'s delegated administration ended", body)


def privileged_password_reset_on_behalf(ctx: Context, tenant_id: uuid.UUID, user: User) -> None:
    """A partner reset an administrator's password: the customer's other Global
    Administrators should know at once (the second factor was kept)."""
    principal = ctx.require_principal()
    partner = ctx.session.get(Tenant, principal.tenant_id)
    body = (
        f"{principal.user_principal_name} of your partner {partner.name if partner else '?'} "
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


def request_sent(ctx: Context, relationship: Relationship, url: str) -> None:
    """A partner asks this customer for delegated administration: its Global
    Administrators hear of it (the request waits for them under Partner relationships)."""
    partner, customer = _names(ctx, relationship)
    _send(
        ctx,
        relationship.customer_tenant_id,
        f"{partner} asks to administer {customer}",
        f"{partner} asks for delegated administration of {customer} with: "
        f"{_roles(relationship)}, for {relationship.duration_days} days"
        f"{', extended automatically' if relationship.auto_extend else ''}.\n"
        f"Read the request and accept or ignore it: {url}\n"
        "If you don't know this partner, remove and block it under Partner relationships.",
    )


def terms_changed(ctx: Context, relationship: Relationship, by: str) -> None:
    """A change of terms is told to the other side."""
    partner, customer = _names(ctx, relationship)
    state = "on" if relationship.auto_extend else "off"
    body = (
        f"Auto-extend of the delegated administration of {customer} by {partner} is now "
        f"{state} (relationship {relationship.id})."
    )
    if by == "customer":
        _send(ctx, relationship.partner_tenant_id, f"{customer} turned auto-extend {state}", body)
    else:
        _send(ctx, relationship.customer_tenant_id, f"{partner} turned auto-extend {state}", body)


def partner_unenrolled(ctx: Context, relationship: Relationship) -> None:
    partner, customer = _names(ctx, relationship)
    _send(
        ctx,
        relationship.customer_tenant_id,
        f"{partner} is no longer a partner",
        f"{partner} has left the partner program. Its delegated administration of {customer} "
        f"(relationship {relationship.id}) has ended; its agents can no longer administer "
        "your organisation.",
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
