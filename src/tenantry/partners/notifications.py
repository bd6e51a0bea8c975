"""E-mail about relationships, written to the outbox in the same transaction as the change."""

from __future__ import annotations

from tenantry.access.roles import ROLE_NAMES, Role
from tenantry.core.context import Context
from tenantry.directory import notices, tenants
from tenantry.models import Relationship, Tenant
from tenantry.models.partners import Party


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
    notices.tell_admins(
        ctx,
        relationship.partner_tenant_id,
        f"{customer} accepted your offer",
        f"{customer} authorised {partner} to administer it with: {_roles(relationship)}.\n"
        f"The relationship is active until {ends} (relationship {relationship.id}).",
    )


def relationship_terminated(ctx: Context, relationship: Relationship, by: Party) -> None:
    partner, customer = _names(ctx, relationship)
    if by == Party.CUSTOMER:
        notices.tell_admins(
            ctx,
            relationship.partner_tenant_id,
            f"{customer} removed {partner} as partner",
            f"{customer} removed your delegated administration (relationship "
            f"{relationship.id}). Your agents can no longer administer {customer}.",
        )
    else:
        notices.tell_admins(
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
    notices.tell_admins(
        ctx,
        relationship.partner_tenant_id,
        f"Delegated administration of {customer} ends on {ends}",
        body,
    )
    notices.tell_admins(
        ctx,
        relationship.customer_tenant_id,
        f"{partner}'s delegated administration ends on {ends}",
        body,
    )


def relationship_expired(ctx: Context, relationship: Relationship) -> None:
    partner, customer = _names(ctx, relationship)
    body = f"The delegated administration of {customer} by {partner} has ended."
    notices.tell_admins(
        ctx, relationship.partner_tenant_id, f"Delegated administration of {customer} ended", body
    )
    notices.tell_admins(
        ctx, relationship.customer_tenant_id, f"{partner}'s delegated administration ended", body
    )


def request_sent(ctx: Context, relationship: Relationship, url: str) -> None:
    """A partner asks this customer for delegated administration: its Global
    Administrators hear of it (the request waits for them under Partner relationships)."""
    partner, customer = _names(ctx, relationship)
    notices.tell_admins(
        ctx,
        relationship.customer_tenant_id,
        f"{partner} asks to administer {customer}",
        f"{partner} asks for delegated administration of {customer} with: "
        f"{_roles(relationship)}, for {relationship.duration_days} days"
        f"{', extended automatically' if relationship.auto_extend else ''}.\n"
        f"Read the request and accept or ignore it: {url}\n"
        "If you don't know this partner, remove and block it under Partner relationships.",
    )


def terms_changed(ctx: Context, relationship: Relationship, by: Party) -> None:
    """A change of terms is told to the other side."""
    partner, customer = _names(ctx, relationship)
    state = "on" if relationship.auto_extend else "off"
    body = (
        f"Auto-extend of the delegated administration of {customer} by {partner} is now "
        f"{state} (relationship {relationship.id})."
    )
    if by == Party.CUSTOMER:
        notices.tell_admins(
            ctx, relationship.partner_tenant_id, f"{customer} turned auto-extend {state}", body
        )
    else:
        notices.tell_admins(
            ctx, relationship.customer_tenant_id, f"{partner} turned auto-extend {state}", body
        )


def partner_unenrolled(ctx: Context, relationship: Relationship) -> None:
    partner, customer = _names(ctx, relationship)
    notices.tell_admins(
        ctx,
        relationship.customer_tenant_id,
        f"{partner} is no longer a partner",
        f"{partner} has left the partner program. Its delegated administration of {customer} "
        f"(relationship {relationship.id}) has ended; its agents can no longer administer "
        "your organisation.",
    )
