"""The partner's side of its relationships: reading them, giving up terms (never adding
to them) and ending one."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select

from tenantry.core.context import Context
from tenantry.core.errors import Conflict, Forbidden
from tenantry.core.pagination import Page, paginate
from tenantry.core.scoped import get_scoped
from tenantry.models import Offer, Relationship
from tenantry.models.partners import OPEN_STATUSES, Party, RelationshipStatus
from tenantry.partners import enrolment as partners
from tenantry.partners import notifications, relationships


def get_for_partner(ctx: Context, relationship_id: uuid.UUID) -> Relationship:
    """One of this partner's relationships; another partner's is 404."""
    partner = partners.require_partner(ctx)
    return get_scoped(
        ctx.session,
        Relationship,
        relationship_id,
        partner.id,
        "Relationship",
        owner="partner_tenant_id",
    )


def for_partner(
    ctx: Context,
    *,
    status: RelationshipStatus | None,
    customer_tenant_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> Page[Relationship]:
    partner = partners.require_partner(ctx)
    stmt: Select[Relationship] = select(Relationship).where(
        Relationship.partner_tenant_id == partner.id
    )
    if status:
        stmt = stmt.where(Relationship.status == status)
    if customer_tenant_id:
        stmt = stmt.where(Relationship.customer_tenant_id == customer_tenant_id)
    return paginate(
        ctx.session,
        stmt,
        [Relationship.created_at, Relationship.id],
        cursor,
        limit,
        descending=True,
    )


CONSENT_NEEDED = (
    "Only the customer can turn auto-extend on: the terms it approved are the terms. A "
    "partner may turn auto-extend off, or ask the customer to turn it on under Partner "
    "relationships."
)


def patch_for_partner(
    ctx: Context,
    relationship_id: uuid.UUID,
    *,
    expected_version: int | None,
    auto_extend: bool | None,
) -> Relationship:
    """The partner may give up terms (turn auto-extend off), never add to them: what the
    customer approved, or was asked to approve, is the most the partner gets."""
    relationship = get_for_partner(ctx, relationship_id)
    relationships.check_version(relationship, expected_version)
    if relationship.status not in OPEN_STATUSES:
        raise Conflict("This relationship has ended.", slug="relationship-ended")
    if auto_extend is None or auto_extend == relationship.auto_extend:
        return relationship
    if auto_extend:
        raise Forbidden(CONSENT_NEEDED, slug="customer-consent-needed")
    relationships.set_auto_extend(ctx, relationship, False)
    if (
        relationship.status == RelationshipStatus.APPROVAL_PENDING
        and relationship.offer_id is not None
    ):
        # The request's offer page shows what accepting gives: keep it true.
        offer = ctx.session.get(Offer, relationship.offer_id)
        if offer is not None and offer.customer_tenant_id == relationship.customer_tenant_id:
            offer.auto_extend = False
    relationships.audit_both(
        ctx, relationship, "partner.relationship.update", auto_extend=False, by=Party.PARTNER
    )
    notifications.terms_changed(ctx, relationship, by=Party.PARTNER)
    return relationship


def terminate_by_partner(ctx: Context, relationship_id: uuid.UUID) -> Relationship:
    return relationships.terminate(ctx, get_for_partner(ctx, relationship_id), Party.PARTNER)
