"""What a partner sees of its customers: the customer list, one customer's dashboard,
Find and Assist, and the explanation of what an agent may do in a customer.

Agents see the customers they may administer (a live relationship and an access assignment
that holds them); partner admins (``partner.manage``) also see pending ones. Every list is
built with a fixed number of queries per page, never one per customer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select

from tenantry import access
from tenantry.models import (
    AccessAssignment,
    AuditEvent,
    Domain,
    GroupMember,
    Relationship,
    Service,
    ServiceRequest,
    Subscription,
    Tenant,
    User,
)
from tenantry.models.partners import LIVE_STATUSES
from tenantry.roles import Permission
from tenantry.services import billing, health, partners
from tenantry.services.context import Context
from tenantry.services.errors import InvalidInput, NotFound
from tenantry.services.pagination import Page, paginate
from tenantry.services.relationships import OPEN_STATUSES
from tenantry.services.search import prefix_match, searchable

STATUS_RANK = {"active": 1, "expiring": 2, "approval_pending": 3}
RANKED_STATUS = {rank: status for status, rank in STATUS_RANK.items()}
OPEN_REQUEST = ("open", "in_progress")
LOOKUP_LIMIT = 20


def _administrable(ctx: Context, partner_id: uuid.UUID) -> Callable[[Any], Any]:
    """A builder of: EXISTS a live relationship of this partner with the row's tenant through
    which the agent may act. Correlated, so a query walks its own (prefix or name) index in
    order and stops at its LIMIT, checking each hit with the relationships index. The agent's
    groups are a subquery, not a round trip of their own (a user's groups are all in its own
    tenant, the partner)."""
    groups = select(GroupMember.group_id).where(
        GroupMember.user_id == ctx.require_principal().user_id
    )

    def exists_for(tenant_column: Any) -> Any:
        return (
            select(Relationship.id)
            .join(AccessAssignment, AccessAssignment.relationship_id == Relationship.id)
            .where(
                Relationship.customer_tenant_id == tenant_column,
                Relationship.partner_tenant_id == partner_id,
                Relationship.status.in_(LIVE_STATUSES),
                Relationship.ends_at > ctx.now,  # past its end it is not live
                AccessAssignment.group_id.in_(groups),
            )
            .exists()
        )

    return exists_for


def _sees_all(ctx: Context, partner_id: uuid.UUID) -> bool:
    """Partner admins see every open relationship, pending ones included."""
    return access.decide(ctx, partner_id).allows(Permission.PARTNER_MANAGE)


def _visible(ctx: Context, partner_id: uuid.UUID, tenant_column: Any) -> Any:
    """EXISTS a relationship this caller may see in the customer list for the row's tenant."""
    if not _sees_all(ctx, partner_id):
        return _administrable(ctx, partner_id)(tenant_column)
    return (
        select(Relationship.id)
        .where(
            Relationship.customer_tenant_id == tenant_column,
            Relationship.partner_tenant_id == partner_id,
            Relationship.status.in_(OPEN_STATUSES),
        )
        .exists()
    )


@dataclass
class CustomerSummary:
    tenant: Tenant
    relationship_status: str
    ends_at: datetime | None
    default_domain: str = ""
    health: str = "healthy"
    licenses_assigned: int = 0
    licenses_total: int = 0
    open_service_requests: int = 0


def overall_health(ctx: Context) -> str:
    """The worst status of any platform service (health is platform-wide, not per tenant)."""
    statuses = set(ctx.session.scalars(select(Service.status).distinct()))
    return next((s for s in ("incident", "degraded") if s in statuses), "healthy")


def _summary_columns(ctx: Context, partner_id: uuid.UUID) -> list[Any]:
    """Relationship status and end, default domain, licences and open requests of the row's
    tenant, as correlated scalar subqueries: a page of customers is one query, each figure an
    index probe per row of the page."""
    rank = case(*[(Relationship.status == s, r) for s, r in STATUS_RANK.items()], else_=9)
    open_relationship = and_(
        Relationship.customer_tenant_id == Tenant.id,
        Relationship.partner_tenant_id == partner_id,
        Relationship.status.in_(OPEN_STATUSES),
    )
    counted = and_(
        Subscription.tenant_id == Tenant.id,
        Subscription.status != "expired",
        or_(Subscription.trial_ends_at.is_(None), Subscription.trial_ends_at > ctx.now),
    )
    return [
        select(func.min(rank)).where(open_relationship).scalar_subquery(),
        select(func.max(Relationship.ends_at)).where(open_relationship).scalar_subquery(),
        select(Domain.name)
        .where(Domain.tenant_id == Tenant.id, Domain.is_default)
        .limit(1)
        .scalar_subquery(),
        select(func.coalesce(func.sum(Subscription.assigned), 0)).where(counted).scalar_subquery(),
        select(func.coalesce(func.sum(Subscription.seats), 0)).where(counted).scalar_subquery(),
        select(func.count())
        .where(ServiceRequest.tenant_id == Tenant.id, ServiceRequest.status.in_(OPEN_REQUEST))
        .scalar_subquery(),
    ]


def _summary(row: Any, health_status: str) -> CustomerSummary:
    tenant, rank, ends_at, domain, assigned, seats, requests = row
    return CustomerSummary(
        tenant=tenant,
        relationship_status=RANKED_STATUS.get(rank, "expired"),
        ends_at=ends_at,
        default_domain=domain or "",
        health=health_status,
        licenses_assigned=int(assigned),
        licenses_total=int(seats),
        open_service_requests=int(requests),
    )


def customers(
    ctx: Context, *, search: str | None, cursor: str | None, limit: int
) -> Page[CustomerSummary]:
    partner = partners.require_partner(ctx, None)
    stmt: Select[Any] = select(Tenant, *_summary_columns(ctx, partner.id)).where(
        _visible(ctx, partner.id, Tenant.id)
    )
    if search and search.strip():
        term = search.strip().lower()
        named = select(Tenant.id).where(prefix_match(ctx.session, func.lower(Tenant.name), term))
        by_domain = select(Domain.tenant_id).where(prefix_match(ctx.session, Domain.name, term))
        stmt = stmt.where(Tenant.id.in_(named.union(by_domain)))
    page = paginate(ctx.session, stmt, [Tenant.name, Tenant.id], cursor, limit, rows=True)
    status = overall_health(ctx) if page.items else "healthy"
    return Page([_summary(row, status) for row in page.items], page.next_cursor)


def _visible_customer(ctx: Context, tenant_id: uuid.UUID) -> CustomerSummary:
    partner = partners.require_partner(ctx, None)
    row = ctx.session.execute(
        select(Tenant, *_summary_columns(ctx, partner.id)).where(
            Tenant.id == tenant_id, _visible(ctx, partner.id, Tenant.id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("Customer not found.")
    return _summary(row, overall_health(ctx))


@dataclass
class Dashboard:
    summary: CustomerSummary
    services: list[health.ServiceHealth]
    service_requests: list[ServiceRequest]
    subscriptions: list[Subscription]
    domains: list[Domain]
    relationships: list[Relationship]
    sku_names: dict[str, str] = field(default_factory=dict)


def dashboard(ctx: Context, tenant_id: uuid.UUID) -> Dashboard:
    summary = _visible_customer(ctx, tenant_id)
    partner_id = ctx.require_principal().tenant_id
    return Dashboard(
        summary=summary,
        services=health.overview(ctx),
        service_requests=list(
            ctx.session.scalars(
                select(ServiceRequest)
                .where(ServiceRequest.tenant_id == tenant_id)
                .order_by(ServiceRequest.created_at.desc())
                .limit(20)
            )
        ),
        subscriptions=list(
            ctx.session.scalars(
                select(Subscription)
                .where(Subscription.tenant_id == tenant_id)
                .order_by(Subscription.created_at)
            )
        ),
        domains=list(
            ctx.session.scalars(
                select(Domain)
                .where(Domain.tenant_id == tenant_id)
                .order_by(Domain.is_initial.desc(), Domain.name)
            )
        ),
        relationships=list(
            ctx.session.scalars(
                select(Relationship)
                .where(
                    Relationship.customer_tenant_id == tenant_id,
                    Relationship.partner_tenant_id == partner_id,
                )
                .order_by(Relationship.created_at.desc())
            )
        ),
        sku_names=billing.sku_names(ctx),
    )


def access_in(ctx: Context, tenant_id: uuid.UUID) -> access.Decision:
    """Why this agent may (or may not) act in a customer."""
    _visible_customer(ctx, tenant_id)
    return access.decide(ctx, tenant_id)


@dataclass(frozen=True)
class LookupHit:
    tenant_id: uuid.UUID
    tenant_name: str
    match_type: str
    match: str


def lookup(ctx: Context, query: str) -> list[LookupHit]:
    """Find and Assist: a customer by name, any of its domains, or a user's UPN or name —
    only among the customers this agent may administer. Each query walks a prefix index in
    its own order and checks the hits, so it stops after LOOKUP_LIMIT."""
    partner = partners.require_partner(ctx, None)
    term = query.strip().lower()
    if len(term) < 2:
        raise InvalidInput("Type at least two characters to search.")
    session = ctx.session
    hits: list[LookupHit] = []
    administrable = _administrable(ctx, partner.id)
    tenant_name = func.lower(Tenant.name)
    for tid, name in session.execute(
        select(Tenant.id, Tenant.name)
        .where(prefix_match(session, tenant_name, term), administrable(Tenant.id))
        .order_by(searchable(session, tenant_name))
        .limit(LOOKUP_LIMIT)
    ):
        hits.append(LookupHit(tid, name, "tenant", name))
    for tid, name, domain in session.execute(
        select(Domain.tenant_id, Tenant.name, Domain.name)
        .join(Tenant, Tenant.id == Domain.tenant_id)
        .where(
            prefix_match(session, Domain.name, term),
            administrable(Domain.tenant_id),
        )
        .order_by(searchable(session, Domain.name))
        .limit(LOOKUP_LIMIT)
    ):
        hits.append(LookupHit(tid, name, "domain", domain))
    seen: set[str] = set()
    display_name = func.lower(User.display_name)
    for column in (User.user_principal_name, display_name):
        for tid, name, upn in session.execute(
            select(User.tenant_id, Tenant.name, User.user_principal_name)
            .join(Tenant, Tenant.id == User.tenant_id)
            .where(prefix_match(session, column, term), administrable(User.tenant_id))
            .order_by(searchable(session, column))
            .limit(LOOKUP_LIMIT)
        ):
            if upn not in seen:
                seen.add(upn)
                hits.append(LookupHit(tid, name, "user", upn))
    return hits


def partner_audit(ctx: Context, *, cursor: str | None, limit: int) -> Page[AuditEvent]:
    """What this partner's agents did in its customers."""
    partner = partners.require_partner(ctx)
    stmt: Select[AuditEvent] = select(AuditEvent).where(
        AuditEvent.partner_tenant_id == partner.id, AuditEvent.tenant_id != partner.id
    )
    return paginate(
        ctx.session, stmt, [AuditEvent.occurred_at, AuditEvent.id], cursor, limit, descending=True
    )
