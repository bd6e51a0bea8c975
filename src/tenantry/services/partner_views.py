"""What a partner sees of its customers: the customer list, one customer's dashboard,
Find and Assist, and the explanation of what an agent may do in a customer.

Agents see the customers they may administer (a live relationship and an access assignment
that holds them); partner admins (``partner.manage``) also see pending ones. Every list is
built with a fixed number of queries per page, never one per customer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, or_, select

from tenantry import access
from tenantry.models import (
    AccessAssignment,
    AuditEvent,
    Domain,
    GroupMember,
    Relationship,
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
from tenantry.services.search import prefix_match

STATUS_RANK = {"active": 1, "expiring": 2, "approval_pending": 3}
OPEN_REQUEST = ("open", "in_progress")
LOOKUP_LIMIT = 20


def _administrable(ctx: Context, partner_id: uuid.UUID) -> Select[Any]:
    """Relationships through which this agent may act: live, with an assignment holding it."""
    principal = ctx.require_principal()
    mine = (
        select(AccessAssignment.relationship_id)
        .join(GroupMember, GroupMember.group_id == AccessAssignment.group_id)
        .where(GroupMember.user_id == principal.user_id)
    )
    return select(Relationship.customer_tenant_id).where(
        Relationship.partner_tenant_id == partner_id,
        Relationship.status.in_(LIVE_STATUSES),
        or_(Relationship.ends_at > ctx.now, Relationship.auto_extend),
        Relationship.id.in_(mine),
    )


def _visible_relationships(ctx: Context, partner_id: uuid.UUID) -> Any:
    """Relationship rows this caller may see in the customer list."""
    decision = access.decide(ctx, partner_id)
    condition = [
        Relationship.partner_tenant_id == partner_id,
        Relationship.status.in_(OPEN_STATUSES),
    ]
    if not decision.allows(Permission.PARTNER_MANAGE):
        condition.append(Relationship.customer_tenant_id.in_(_administrable(ctx, partner_id)))
    return condition


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
    statuses = {item.service.status for item in health.overview(ctx)}
    return next((s for s in ("incident", "degraded") if s in statuses), "healthy")


def customers(
    ctx: Context, *, search: str | None, cursor: str | None, limit: int
) -> Page[CustomerSummary]:
    partner = partners.require_partner(ctx, None)
    rank = case(*[(Relationship.status == s, r) for s, r in STATUS_RANK.items()], else_=9)
    rel = (
        select(
            Relationship.customer_tenant_id.label("tid"),
            func.min(rank).label("rank"),
            func.max(Relationship.ends_at).label("ends_at"),
        )
        .where(*_visible_relationships(ctx, partner.id))
        .group_by(Relationship.customer_tenant_id)
        .subquery()
    )
    stmt: Select[Any] = select(Tenant, rel.c.rank, rel.c.ends_at).join(rel, rel.c.tid == Tenant.id)
    if search and search.strip():
        term = search.strip().lower()
        stmt = stmt.where(
            or_(
                prefix_match(ctx.session, func.lower(Tenant.name), term),
                Tenant.id.in_(
                    select(Domain.tenant_id).where(prefix_match(ctx.session, Domain.name, term))
                ),
            )
        )
    page = paginate(ctx.session, stmt, [Tenant.name, Tenant.id], cursor, limit, rows=True)
    by_rank = {r: s for s, r in STATUS_RANK.items()}
    summaries = [CustomerSummary(t, by_rank.get(r, "expired"), ends) for t, r, ends in page.items]
    _fill(ctx, summaries)
    return Page(summaries, page.next_cursor)


def _fill(ctx: Context, summaries: list[CustomerSummary]) -> None:
    """Domains, licences and open requests of one page of customers: three queries."""
    if not summaries:
        return
    ids = [s.tenant.id for s in summaries]
    domains = dict(
        ctx.session.execute(
            select(Domain.tenant_id, Domain.name).where(
                Domain.tenant_id.in_(ids), Domain.is_default
            )
        ).all()
    )
    seats = {
        tid: (int(a or 0), int(t or 0))
        for tid, a, t in ctx.session.execute(
            select(
                Subscription.tenant_id,
                func.sum(Subscription.assigned),
                func.sum(Subscription.seats),
            )
            .where(
                Subscription.tenant_id.in_(ids),
                Subscription.status != "expired",
                or_(Subscription.trial_ends_at.is_(None), Subscription.trial_ends_at > ctx.now),
            )
            .group_by(Subscription.tenant_id)
        ).all()
    }
    requests = dict(
        ctx.session.execute(
            select(ServiceRequest.tenant_id, func.count())
            .where(ServiceRequest.tenant_id.in_(ids), ServiceRequest.status.in_(OPEN_REQUEST))
            .group_by(ServiceRequest.tenant_id)
        ).all()
    )
    status = overall_health(ctx)
    for summary in summaries:
        tid = summary.tenant.id
        summary.default_domain = domains.get(tid, "")
        summary.licenses_assigned, summary.licenses_total = seats.get(tid, (0, 0))
        summary.open_service_requests = int(requests.get(tid, 0))
        summary.health = status


def _visible_customer(ctx: Context, tenant_id: uuid.UUID) -> CustomerSummary:
    partner = partners.require_partner(ctx, None)
    row = ctx.session.execute(
        select(
            Tenant,
            func.min(
                case(*[(Relationship.status == s, r) for s, r in STATUS_RANK.items()], else_=9)
            ),
            func.max(Relationship.ends_at),
        )
        .join(Relationship, Relationship.customer_tenant_id == Tenant.id)
        .where(Tenant.id == tenant_id, *_visible_relationships(ctx, partner.id))
        .group_by(Tenant.id)
    ).first()
    if row is None:
        raise NotFound("Customer not found.")
    by_rank = {r: s for s, r in STATUS_RANK.items()}
    summary = CustomerSummary(row[0], by_rank.get(row[1], "expired"), row[2])
    _fill(ctx, [summary])
    return summary


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
        sku_names={s.id: s.name for s in billing.list_skus(ctx)},
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
    only among the customers this agent may administer."""
    partner = partners.require_partner(ctx, None)
    term = query.strip().lower()
    if len(term) < 2:
        raise InvalidInput("Type at least two characters to search.")
    session = ctx.session
    mine = _administrable(ctx, partner.id)
    hits: list[LookupHit] = []
    for tid, name in session.execute(
        select(Tenant.id, Tenant.name)
        .where(Tenant.id.in_(mine), prefix_match(session, func.lower(Tenant.name), term))
        .order_by(Tenant.name)
        .limit(LOOKUP_LIMIT)
    ):
        hits.append(LookupHit(tid, name, "tenant", name))
    for tid, name, domain in session.execute(
        select(Domain.tenant_id, Tenant.name, Domain.name)
        .join(Tenant, Tenant.id == Domain.tenant_id)
        .where(Domain.tenant_id.in_(mine), prefix_match(session, Domain.name, term))
        .order_by(Domain.name)
        .limit(LOOKUP_LIMIT)
    ):
        hits.append(LookupHit(tid, name, "domain", domain))
    users = (
        select(User.tenant_id, Tenant.name, User.user_principal_name)
        .join(Tenant, Tenant.id == User.tenant_id)
        .where(User.tenant_id.in_(mine))
    )
    seen: set[str] = set()
    for condition in (
        prefix_match(session, User.user_principal_name, term),
        prefix_match(session, func.lower(User.display_name), term),
    ):
        for tid, name, upn in session.execute(
            users.where(condition).order_by(User.user_principal_name).limit(LOOKUP_LIMIT)
        ):
            if upn not in seen:
                seen.add(upn)
                hits.append(LookupHit(tid, name, "user", upn))
    return hits


def partner_audit(ctx: Context, *, cursor: str | None, limit: int) -> Page[AuditEvent]:
    """What this partner's agents did in its customers."""
    partner = partners.require_partner(ctx)
    stmt: Select[tuple[AuditEvent]] = select(AuditEvent).where(
        AuditEvent.partner_tenant_id == partner.id, AuditEvent.tenant_id != partner.id
    )
    return paginate(
        ctx.session, stmt, [AuditEvent.occurred_at, AuditEvent.id], cursor, limit, descending=True
    )
