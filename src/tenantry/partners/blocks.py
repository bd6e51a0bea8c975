"""A customer blocks a partner: no more requests (offers for this one customer) from it, and
none of its offer links can be accepted here. Blocking declines the partner's waiting
request; a live relationship stays until the customer removes it ("remove and block").

Blocks are managed with ``partner_relationships.manage``, which is never delegated: only the
customer's own administrators decide which partners may ask. A blocked partner that sends a
request is told plainly (409 ``partner-blocked``): it already knows the customer exists, and
the reason saves it from retrying.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, delete, func, select
from sqlalchemy.exc import IntegrityError

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import Conflict, InvalidInput, NotFound
from tenantry.core.pagination import Page, paginate
from tenantry.directory import tenants
from tenantry.models import PartnerBlock, Relationship, Tenant
from tenantry.models.partners import OPEN_STATUSES, Party, RelationshipStatus
from tenantry.partners import relationships

REQUESTS_REFUSED = (
    "This organisation does not accept requests from your organisation; it can unblock you "
    "under Partner relationships."
)


@dataclass(frozen=True)
class BlockView:
    partner_tenant_id: uuid.UUID
    partner_name: str
    partner_domain: str
    created_at: datetime


def lock_customer(ctx: Context, customer_id: uuid.UUID) -> None:
    """Blocks and new requests of one customer queue on its tenant row (PostgreSQL; SQLite
    serialises writers), so a request can't slip in beside a concurrent block."""
    ctx.session.execute(select(Tenant.id).where(Tenant.id == customer_id).with_for_update())


def is_blocked(ctx: Context, customer_id: uuid.UUID, partner_id: uuid.UUID) -> bool:
    return ctx.session.get(PartnerBlock, (customer_id, partner_id)) is not None


def ensure_not_blocked_request(ctx: Context, customer_id: uuid.UUID, partner_id: uuid.UUID) -> None:
    """For the partner sending a request (the customer row is locked first)."""
    lock_customer(ctx, customer_id)
    if is_blocked(ctx, customer_id, partner_id):
        raise Conflict(REQUESTS_REFUSED, slug="partner-blocked")


def ensure_may_accept(ctx: Context, customer_id: uuid.UUID, partner: Tenant) -> None:
    """For the customer accepting an offer link of a partner it blocked."""
    if is_blocked(ctx, customer_id, partner.id):
        raise Conflict(
            f"Your organisation has blocked {partner.name}. To accept its offer, unblock it "
            "first under Partner relationships.",
            slug="partner-blocked",
        )


def list_blocks(
    ctx: Context, tenant_id: uuid.UUID, *, cursor: str | None = None, limit: int = 50
) -> Page[BlockView]:
    decision = access.require(ctx, tenant_id, Permission.PARTNER_RELATIONSHIPS_READ)
    stmt: Select[Any] = (
        select(PartnerBlock, Tenant)  # type: ignore[assignment]  # rows of two entities
        .join(Tenant, Tenant.id == PartnerBlock.partner_tenant_id)
        .where(
            PartnerBlock.customer_tenant_id == tenant_id,
            access.own_partner_only(decision, PartnerBlock.partner_tenant_id),
        )
    )
    page = paginate(
        ctx.session, stmt, [Tenant.name, PartnerBlock.partner_tenant_id], cursor, limit, rows=True
    )
    domains = tenants.default_domains(ctx, {t.id for _, t in page.items})
    return Page(
        [
            BlockView(t.id, t.name, domains.get(t.id, ""), block.created_at)
            for block, t in page.items
        ],
        page.next_cursor,
    )


@dataclass(frozen=True)
class FormerPartner:
    partner_tenant_id: uuid.UUID
    partner_name: str
    partner_domain: str
    ended_at: datetime | None


def former_partners(ctx: Context, tenant_id: uuid.UUID, *, limit: int = 50) -> list[FormerPartner]:
    """Partners whose relationships with this customer have all ended and that are not
    blocked, most recently ended first: the ones a customer may want to block after the
    fact (a removed partner could otherwise ask again)."""
    decision = access.require(ctx, tenant_id, Permission.PARTNER_RELATIONSHIPS_READ)
    mine = and_(
        Relationship.customer_tenant_id == tenant_id,
        access.own_partner_only(decision, Relationship.partner_tenant_id),
    )
    still_open = select(Relationship.partner_tenant_id).where(
        mine, Relationship.status.in_(OPEN_STATUSES)
    )
    blocked = select(PartnerBlock.partner_tenant_id).where(
        PartnerBlock.customer_tenant_id == tenant_id
    )
    ended = func.max(func.coalesce(Relationship.terminated_at, Relationship.ends_at))
    rows = ctx.session.execute(
        select(Tenant.id, Tenant.name, ended)
        .join(Relationship, Relationship.partner_tenant_id == Tenant.id)
        .where(mine, Tenant.id.not_in(still_open), Tenant.id.not_in(blocked))
        .group_by(Tenant.id, Tenant.name)
        .order_by(ended.desc(), Tenant.id)
        .limit(limit)
    ).all()
    domains = tenants.default_domains(ctx, {row[0] for row in rows})
    return [
        FormerPartner(partner_id, name, domains.get(partner_id, ""), ended_at)
        for partner_id, name, ended_at in rows
    ]


def _partner(ctx: Context, tenant_id: uuid.UUID, partner_id: uuid.UUID) -> Tenant:
    if partner_id == tenant_id:
        raise InvalidInput("An organisation can't block itself.")
    partner = ctx.session.get(Tenant, partner_id)
    if partner is None:
        raise NotFound("Partner not found.")
    return partner


def block(ctx: Context, tenant_id: uuid.UUID, partner_id: uuid.UUID) -> BlockView:
    """Idempotent. The partner's waiting request is declined in the same transaction."""
    access.require(ctx, tenant_id, Permission.PARTNER_RELATIONSHIPS_MANAGE)
    partner = _partner(ctx, tenant_id, partner_id)
    if not partner.is_partner and not _ever_related(ctx, tenant_id, partner_id):
        raise NotFound("Partner not found.")
    lock_customer(ctx, tenant_id)
    existing = ctx.session.get(PartnerBlock, (tenant_id, partner_id))
    if existing is None:
        existing = PartnerBlock(
            customer_tenant_id=tenant_id,
            partner_tenant_id=partner_id,
            created_by_user_id=ctx.require_principal().user_id,
            created_at=ctx.now,
        )
        try:
            with ctx.session.begin_nested():
                ctx.session.add(existing)
        except IntegrityError:  # a concurrent block of the same partner won: same outcome
            existing = ctx.session.get(PartnerBlock, (tenant_id, partner_id))
            assert existing is not None
        else:
            audit.record(
                ctx,
                tenant_id,
                "partner.block",
                f"tenant:{partner_id}",
                details={"partner": partner.name},
                partner_tenant_id=partner_id,
            )
            _decline_pending(ctx, tenant_id, partner_id)
    return BlockView(
        partner.id, partner.name, tenants.default_domain(ctx, partner.id), existing.created_at
    )


def unblock(ctx: Context, tenant_id: uuid.UUID, partner_id: uuid.UUID) -> None:
    access.require(ctx, tenant_id, Permission.PARTNER_RELATIONSHIPS_MANAGE)
    removed = ctx.session.execute(
        delete(PartnerBlock).where(
            PartnerBlock.customer_tenant_id == tenant_id,
            PartnerBlock.partner_tenant_id == partner_id,
        )
    ).rowcount  # type: ignore[attr-defined]
    if not removed:
        raise NotFound("That partner is not blocked.")
    audit.record(
        ctx, tenant_id, "partner.unblock", f"tenant:{partner_id}", partner_tenant_id=partner_id
    )


def _ever_related(ctx: Context, tenant_id: uuid.UUID, partner_id: uuid.UUID) -> bool:
    """A former partner (since unenrolled) may still be blocked by a customer it knew."""
    return (
        ctx.session.scalar(
            select(Relationship.id)
            .where(
                Relationship.customer_tenant_id == tenant_id,
                Relationship.partner_tenant_id == partner_id,
            )
            .limit(1)
        )
        is not None
    )


def _decline_pending(ctx: Context, tenant_id: uuid.UUID, partner_id: uuid.UUID) -> None:
    pending = ctx.session.scalars(
        select(Relationship).where(
            Relationship.customer_tenant_id == tenant_id,
            Relationship.partner_tenant_id == partner_id,
            Relationship.status == RelationshipStatus.APPROVAL_PENDING,
        )
    ).all()
    for relationship in pending:
        relationships.terminate(ctx, relationship, Party.CUSTOMER)
