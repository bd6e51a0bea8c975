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
    Group,
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
from tenantry.services.search import prefix_match, searchable

STATUS_RANK = {"active": 1, "expiring": 2, "approval_pending": 3}
OPEN_REQUEST = ("open", "in_progress")
LOOKUP_LIMIT = 20


def _agent_groups(ctx: Context, partner_id: uuid.UUID) -> list[uuid.UUID]:
    """The partner groups holding this agent (a handful), so queries needn't join them."""
    principal = ctx.require_principal()
    return list(
        ctx.session.scalars(
            select(GroupMember.group_id)
            .join(Group, Group.id == GroupMember.group_id)
            .where(GroupMember.user_id == principal.user_id, Group.tenant_id == partner_id)
        )
    )


def _administrable(ctx: Context, partner_id: uuid.UUID, tenant_column: Any) -> Any:
    """EXISTS a live relationship of this partner with the row's tenant through which the
    agent may act. Correlated, so a query walks its own (prefix or name) index in order and
    stops at its LIMIT, checking each hit with the relationships index."""
    return (
        select(Relationship.id)
        .join(AccessAssignment, AccessAssignment.relationship_id == Relationship.id)
        .where(
            Relationship.customer_tenant_id == tenant_column,
            Relationship.partner_tenant_id == partner_id,
            Relationship.status.in_(LIVE_STATUSES),
            or_(Relationship.ends_at > ctx.now, Relationship.auto_extend),
            AccessAssignment.group_id.in_(_agent_groups(ctx, partner_id)),
        )
        .exists()
    )


def _sees_all(ctx: Context, partner_id: uuid.UUID) -> bool:
    """Partner admins see every open relationship, pending ones included."""
    return access.decide(ctx, partner_id).allows(Permission.PARTNER_MANAGE)


def _visible(ctx: Context, partner_id: uuid.UUID, tenant_column: Any) -> Any:
    """EXISTS a relationship this caller may see in the customer list for the row's tenant."""
    if not _sees_all(ctx, partner_id):
        return _administrable(ctx, partner_id, tenant_column)
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
    statuses = {item.service.status for item in health.overview(ctx)}
    return next((s for s in ("incident", "degraded") if s in statuses), "healthy")


def customers(
    ctx: Context, *, search: str | None, cursor: str | None, limit: int
) -> Page[CustomerSummary]:
    partner = partners.require_partner(ctx, None)
    stmt: Select[tuple[Tenant]] = select(Tenant).where(_visible(ctx, partner.id, Tenant.id))
    if search and search.strip():
        term = search.strip().lower()
        named = select(Tenant.id).where(prefix_match(ctx.session, func.lower(Tenant.name), term))
        by_domain = select(Domain.tenant_id).where(prefix_match(ctx.session, Domain.name, term))
        stmt = stmt.where(Tenant.id.in_(named.union(by_domain)))
    page = paginate(ctx.session, stmt, [Tenant.name, Tenant.id], cursor, limit)
    summaries = _summaries(ctx, partner.id, page.items)
    return Page(summaries, page.next_cursor)


def _summaries(ctx: Context, partner_id: uuid.UUID, tenants: list[Tenant]) -> list[CustomerSummary]:
    """Relationship status and end for one page of customers, in one grouped query."""
    if not tenants:
        return []
    rank = case(*[(Relationship.status == s, r) for s, r in STATUS_RANK.items()], else_=9)
    rows = ctx.session.execute(
        select(Relationship.customer_tenant_id, func.min(rank), func.max(Relationship.ends_at))
        .where(
            Relationship.partner_tenant_id == partner_id,
            Relationship.customer_tenant_id.in_([t.id for t in tenants]),
            Relationship.status.in_(OPEN_STATUSES),
        )
        .group_by(Relationship.customer_tenant_id)
    ).all()
    by_rank = {r: s for s, r in STATUS_RANK.items()}
    found = {tid: (by_rank.get(r, "expired"), ends) for tid, r, ends in rows}
    summaries = [CustomerSummary(t, *found.get(t.id, ("expired", None))) for t in tenants]
    _fill(ctx, summaries)
    return summaries


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
    tenant = ctx.session.scalar(
        select(Tenant).where(Tenant.id == tenant_id, _visible(ctx, partner.id, Tenant.id))
    )
    if tenant is None:
        raise NotFound("Customer not found.")
    return _summaries(ctx, partner.id, [tenant])[0]


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
    only among the customers this agent may administer. Each query walks a prefix index in
    its own order and checks the hits, so it stops after LOOKUP_LIMIT."""
    partner = partners.require_partner(ctx, None)
    term = query.strip().lower()
    if len(term) < 2:
        raise InvalidInput("Type at least two characters to search.")
    session = ctx.session
    hits: list[LookupHit] = []
    tenant_name = func.lower(Tenant.name)
    for tid, name in session.execute(
        select(Tenant.id, Tenant.name)
        .where(prefix_match(session, tenant_name, term), _administrable(ctx, partner.id, Tenant.id))
        .order_by(searchable(session, tenant_name))
        .limit(LOOKUP_LIMIT)
    ):
        hits.append(LookupHit(tid, name, "tenant", name))
    for tid, name, domain in session.execute(
        select(Domain.tenant_id, Tenant.name, Domain.name)
        .join(Tenant, Tenant.id == Domain.tenant_id)
        .where(
            prefix_match(session, Domain.name, term),
            _administrable(ctx, partner.id, Domain.tenant_id),
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
            .where(
                prefix_match(session, column, term), _administrable(ctx, partner.id, User.tenant_id)
            )
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
    stmt: Select[tuple[AuditEvent]] = select(AuditEvent).where(
        AuditEvent.partner_tenant_id == partner.id, AuditEvent.tenant_id != partner.id
    )
    return paginate(
        ctx.session, stmt, [AuditEvent.occurred_at, AuditEvent.id], cursor, limit, descending=True
    )
