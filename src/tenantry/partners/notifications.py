"""E-mail about relationships and just-in-time activations, written to the outbox in the same
transaction as the change."""

from __future__ import annotations

from sqlalchemy import select

from tenantry.access.roles import ROLE_NAMES, Role
from tenantry.core.context import Context
from tenantry.directory import notices, tenants
from tenantry.models import Activation, ActivationStatus, GroupMember, Relationship, Tenant, User
from tenantry.models.partners import Party
from tenantry.operations import outbox


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


# --- just-in-time activations ---------------------------------------------------------------


def _activation_names(ctx: Context, activation: Activation) -> tuple[str, str, str]:
    """The partner (name and verified domain), the customer, the role in words."""
    partner = ctx.session.get(Tenant, activation.partner_tenant_id)
    customer = ctx.session.get(Tenant, activation.customer_tenant_id)
    domain = tenants.default_domain(ctx, activation.partner_tenant_id)
    return (
        tenants.with_domain(partner.name, domain) if partner else "?",
        customer.name if customer else "?",
        ROLE_NAMES[Role(activation.role)],
    )


def _why(activation: Activation) -> str:
    ticket = f" (ticket {activation.ticket})" if activation.ticket else ""
    return f"Justification: {activation.justification}{ticket}."


def activation_requested(ctx: Context, activation: Activation, *, approvers: bool = True) -> None:
    """A request waits for approval: the approver group's members (never the requester) and,
    where the customer's policy asks for it, the customer's Global Administrators hear of it."""
    partner, customer, role = _activation_names(ctx, activation)
    subject = f"{activation.requester_upn} asks to activate {role} in {customer}"
    body = (
        f"{activation.requester_upn} of {partner} asks to hold {role} in {customer} for "
        f"{activation.minutes} minutes. {_why(activation)}\n"
        f"The request (activation {activation.id}) waits 24 hours for approval."
    )
    if approvers and activation.partner_approval_required and activation.approver_group_id:
        addresses = ctx.session.scalars(
            select(User.user_principal_name)
            .join(GroupMember, GroupMember.user_id == User.id)
            .where(
                GroupMember.group_id == activation.approver_group_id,
                User.id != activation.requester_user_id,
                User.enabled,
            )
            .order_by(User.user_principal_name)
        ).all()
        for address in addresses:
            outbox.enqueue(
                ctx,
                recipient=address,
                subject=subject,
                body=body + " Approve or deny it in the Partner center: "
                f"POST /api/v1/partner/activations/{activation.id}/approve or /deny.",
                tenant_id=activation.partner_tenant_id,
            )
    if activation.customer_approval_required:
        notices.tell_admins(
            ctx,
            activation.customer_tenant_id,
            f"{partner} asks to activate {role} in {customer}: your approval is needed",
            body + " Your organisation asks for its own approval before a partner holds "
            "Global Administrator: approve or deny it at POST /api/v1/tenants/"
            f"{activation.customer_tenant_id}/partner-activations/{activation.id}/approve "
            "or /deny.",
        )


def activation_started(ctx: Context, activation: Activation) -> None:
    """The customer's Global Administrators hear at once that a partner holds a role now,
    who, why and until when, and how to end it."""
    partner, customer, role = _activation_names(ctx, activation)
    ends = f"{activation.ends_at:%Y-%m-%d %H:%M} UTC" if activation.ends_at else "-"
    approved = [
        who
        for who in (activation.partner_approved_by_upn, activation.customer_approved_by_upn)
        if who
    ]
    notices.tell_admins(
        ctx,
        activation.customer_tenant_id,
        f"{partner} activated {role} in {customer} until {ends}",
        f"{activation.requester_upn} of {partner} holds {role} in {customer} until {ends} "
        f"(activation {activation.id}). {_why(activation)}\n"
        + (f"Approved by: {', '.join(approved)}.\n" if approved else "No approval was needed.\n")
        + "To end it now: POST /api/v1/tenants/"
        f"{activation.customer_tenant_id}/partner-activations/{activation.id}/end, or remove "
        "the partner under Partner relationships.",
    )


def activation_decided(ctx: Context, activation: Activation, by: str, *, approved: bool) -> None:
    """The requester hears what became of its request."""
    _, customer, role = _activation_names(ctx, activation)
    if not approved:
        subject = f"Your activation of {role} in {customer} was denied"
        body = f"{by} denied your request to hold {role} in {customer} ({activation.id})."
    elif activation.status == ActivationStatus.ACTIVE and activation.ends_at is not None:
        subject = f"Your activation of {role} in {customer} was approved"
        body = (
            f"{by} approved your request ({activation.id}): you hold {role} in {customer} "
            f"until {activation.ends_at:%Y-%m-%d %H:%M} UTC."
        )
    else:
        subject = f"Your activation of {role} in {customer} was approved by {by}"
        body = (
            f"{by} approved your request ({activation.id}); it still waits for another "
            "approval before it starts."
        )
    outbox.enqueue(
        ctx,
        recipient=activation.requester_upn,
        subject=subject,
        body=body,
        tenant_id=activation.partner_tenant_id,
    )


def activation_ended_by_customer(ctx: Context, activation: Activation, by: str) -> None:
    _, customer, role = _activation_names(ctx, activation)
    outbox.enqueue(
        ctx,
        recipient=activation.requester_upn,
        subject=f"{customer} ended your activation of {role}",
        body=f"{by} of {customer} ended your activation {activation.id} of {role}.",
        tenant_id=activation.partner_tenant_id,
    )
