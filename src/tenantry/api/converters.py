"""Model -> response shapes shared by several routers."""

from __future__ import annotations

from datetime import datetime

from tenantry.access.roles import ROLE_NAMES, ROLE_PLAIN_WORDS, Role
from tenantry.api.schemas.common import ContactDetails
from tenantry.api.schemas.partners import (
    ActivationOut,
    CustomerOut,
    LicenseCount,
    OfferOut,
    PartnerContact,
    PurchaseTermsIO,
    RelationshipOut,
    RoleDescribed,
    TrialTermsIO,
)
from tenantry.api.schemas.support import ServiceHealthOut, ServiceMessageOut
from tenantry.core.context import Context
from tenantry.models import Offer, Relationship, Tenant
from tenantry.partners import offers
from tenantry.partners.activations import ActivationRow
from tenantry.partners.views import CustomerSummary
from tenantry.support import health


def described(roles: list[str]) -> list[RoleDescribed]:
    return [
        RoleDescribed(id=Role(r), name=ROLE_NAMES[Role(r)], description=ROLE_PLAIN_WORDS[Role(r)])
        for r in roles
    ]


def contact(tenant: Tenant) -> PartnerContact:
    details = {field: getattr(tenant, field) for field in ContactDetails.model_fields}
    return PartnerContact(tenant_id=tenant.id, **details)


def trial_of(offer: Offer) -> TrialTermsIO | None:
    if not (offer.trial_sku_id and offer.trial_seats and offer.trial_days):
        return None
    return TrialTermsIO(sku_id=offer.trial_sku_id, seats=offer.trial_seats, days=offer.trial_days)


def purchase_of(offer: Offer) -> PurchaseTermsIO | None:
    if not (offer.purchase_sku_id and offer.purchase_seats):
        return None
    return PurchaseTermsIO(sku_id=offer.purchase_sku_id, seats=offer.purchase_seats)


def offer_out(ctx: Context, offer: Offer, partner: Tenant) -> OfferOut:
    text = offers.email_text(ctx, offer, partner)
    return OfferOut(
        id=offer.id,
        token=offers.token_for(ctx, offer),
        url=offers.url_for(ctx, offer),
        email_text=text,
        mailto=offers.invitation_mailto(partner, text),
        is_classic=offer.is_classic,
        roles=[Role(r) for r in offer.roles],
        roles_described=described(offer.roles),
        duration=offers.format_duration(offer.duration_days),
        auto_extend=offer.auto_extend,
        customer_tenant_id=offer.customer_tenant_id,
        trial=trial_of(offer),
        purchase=purchase_of(offer),
        status=offer.status,
        created_at=offer.created_at,
        expires_at=offer.expires_at,
    )


def relationship_out(relationship: Relationship) -> RelationshipOut:
    return RelationshipOut(
        id=relationship.id,
        partner_tenant_id=relationship.partner_tenant_id,
        customer_tenant_id=relationship.customer_tenant_id,
        status=relationship.status,
        roles=[Role(r) for r in relationship.roles],
        duration=offers.format_duration(relationship.duration_days),
        auto_extend=relationship.auto_extend,
        created_at=relationship.created_at,
        activated_at=relationship.activated_at,
        ends_at=relationship.ends_at,
        terminated_at=relationship.terminated_at,
        terminated_by=relationship.terminated_by,
        etag=etag(relationship),
    )


def etag(relationship: Relationship) -> str:
    return f'"{relationship.version}"'


def customer_out(summary: CustomerSummary) -> CustomerOut:
    return CustomerOut(
        tenant_id=summary.tenant.id,
        name=summary.tenant.name,
        default_domain=summary.default_domain,
        relationship_status=summary.relationship_status,
        ends_at=summary.ends_at,
        health=summary.health,
        licenses=(
            LicenseCount(assigned=summary.licenses_assigned, total=summary.licenses_total)
            if summary.licenses_assigned is not None and summary.licenses_total is not None
            else None
        ),
        open_service_requests=summary.open_service_requests,
    )


def health_out(item: health.ServiceHealth) -> ServiceHealthOut:
    return ServiceHealthOut(
        id=item.service.id,
        name=item.service.name,
        status=item.service.status,
        updated_at=item.service.updated_at,
        messages=[ServiceMessageOut.model_validate(m) for m in item.messages],
    )


def activation_out(row: ActivationRow, now: datetime) -> ActivationOut:
    a = row.activation
    return ActivationOut(
        id=a.id,
        status=a.status_at(now),
        relationship_id=a.relationship_id,
        partner_tenant_id=a.partner_tenant_id,
        partner_name=row.partner_name,
        customer_tenant_id=a.customer_tenant_id,
        customer_name=row.customer_name,
        role=Role(a.role),
        role_name=ROLE_NAMES[Role(a.role)],
        minutes=a.minutes,
        justification=a.justification,
        ticket=a.ticket,
        requester_user_id=a.requester_user_id,
        requested_by=a.requester_upn,
        requested_at=a.requested_at,
        pending_expires_at=a.pending_expires_at,
        partner_approval_required=a.partner_approval_required,
        approver_group_id=a.approver_group_id,
        partner_approved_by=a.partner_approved_by_upn,
        partner_approved_at=a.partner_approved_at,
        customer_approval_required=a.customer_approval_required,
        customer_approved_by=a.customer_approved_by_upn,
        customer_approved_at=a.customer_approved_at,
        denied_by=a.denied_by,
        denied_by_user=a.denied_by_upn,
        denied_at=a.denied_at,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        ended_by=a.ended_by,
        ended_by_user=a.ended_by_upn,
        ended_at=a.ended_at,
    )
