"""The customer's side of its partner relationships: its delegated admins, their terms
(auto-extend, under If-Match), and removing one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.core.context import Context
from tenantry.core.errors import Conflict, NotFound
from tenantry.core.pagination import Page, paginate
from tenantry.directory import tenants
from tenantry.models import Relationship, Tenant
from tenantry.models.partners import LIVE_STATUSES, OPEN_STATUSES, Party
from tenantry.partners import notifications, relationships


@dataclass(frozen=True)
class PartnerRow:
    """A partner relationship as its customer sees it: the partner and its verified default
    domain (a name can look like another's; a verified domain can't)."""

    relationship: Relationship
    partner: Tenant
    partner_domain: str


def for_customer(
    ctx: Context, tenant_id: uuid.UUID, *, cursor: str | None = None, limit: int = 50
) -> Page[PartnerRow]:
    """The customer's delegated admins: open relationships with their partner, by partner
    name, a page at a time."""
    decision = access.require(ctx, tenant_id, Permission.PARTNER_RELATIONSHIPS_READ)
    stmt: Select[Any] = (
        select(Relationship, Tenant)  # type: ignore[assignment]  # rows of two entities
        .join(Tenant, Tenant.id == Relationship.partner_tenant_id)
        .where(
            Relationship.customer_tenant_id == tenant_id,
            Relationship.status.in_(OPEN_STATUSES),
            access.own_partner_only(decision, Relationship.partner_tenant_id),
        )
    )
    page = paginate(
        ctx.session,
        stmt,
        [Tenant.name, Relationship.created_at, Relationship.id],
        cursor,
        limit,
        rows=True,
    )
    domains = tenants.default_domains(ctx, {partner.id for _, partner in page.items})
    return Page(
        [PartnerRow(r, partner, domains.get(partner.id, "")) for r, partner in page.items],
        page.next_cursor,
    )


def get_for_customer(
    ctx: Context, tenant_id: uuid.UUID, relationship_id: uuid.UUID
) -> tuple[Relationship, Tenant]:
    """One of the customer's partner relationships (any status) with its partner."""
    decision = access.require(ctx, tenant_id, Permission.PARTNER_RELATIONSHIPS_READ)
    row = ctx.session.execute(
        select(Relationship, Tenant)
        .join(Tenant, Tenant.id == Relationship.partner_tenant_id)
        .where(
            Relationship.id == relationship_id,
            Relationship.customer_tenant_id == tenant_id,
            access.own_partner_only(decision, Relationship.partner_tenant_id),
        )
    ).one_or_none()
    if row is None:
        raise NotFound("Partner relationship not found.")
    return row[0], row[1]


def patch_for_customer(
    ctx: Context,
    tenant_id: uuid.UUID,
    relationship_id: uuid.UUID,
    *,
    expected_version: int | None,
    auto_extend: bool | None,
) -> tuple[Relationship, Tenant]:
    """The customer decides its terms: auto-extend on or off on a live relationship (never on
    with Global Administrator, docs/architecture.md §3). ``partner_relationships.manage``
    is never delegated, so only the customer's own administrators get here."""
    access.require(ctx, tenant_id, Permission.PARTNER_RELATIONSHIPS_MANAGE)
    relationship, partner = get_for_customer(ctx, tenant_id, relationship_id)
    relationships.check_version(relationship, expected_version)
    if relationship.status not in LIVE_STATUSES or (
        relationship.ends_at is not None and relationship.ends_at <= ctx.now
    ):
        raise Conflict(
            "Only a live relationship's terms can change; a request is accepted with the "
            "terms its offer shows.",
            slug="relationship-not-live",
        )
    if auto_extend is None or auto_extend == relationship.auto_extend:
        return relationship, partner
    relationships.check_auto_extend(auto_extend, relationship.roles)
    relationships.set_auto_extend(ctx, relationship, auto_extend)
    relationships.audit_both(
        ctx,
        relationship,
        "partner.relationship.update",
        auto_extend=auto_extend,
        by=Party.CUSTOMER,
    )
    notifications.terms_changed(ctx, relationship, by=Party.CUSTOMER)
    return relationship, partner


def remove_by_customer(ctx: Context, tenant_id: uuid.UUID, relationship_id: uuid.UUID) -> None:
    access.require(ctx, tenant_id, Permission.PARTNER_RELATIONSHIPS_MANAGE)
    relationship = ctx.session.get(Relationship, relationship_id)
    if relationship is None or relationship.customer_tenant_id != tenant_id:
        raise NotFound("Partner relationship not found.")
    relationships.terminate(ctx, relationship, Party.CUSTOMER)
