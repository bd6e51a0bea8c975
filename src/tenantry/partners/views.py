"""What a partner sees of its customers: the customer list, one customer's dashboard,
Find and Assist, and the explanation of what an agent may do in a customer.

Consent before data, one rule with two uses (docs/architecture.md §2): every figure and
section is shown
only where the agent's decision allows reading it — sets through ``access.restrict_to`` (the
delegated rule as SQL), one customer through ``access.decide`` (the same rule, one decision).
A relationship that is not live gives the customer's name and the relationship status, nothing
else, also to partner admins. Every list is a fixed number of queries per page, never one per
customer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, or_, select, union_all

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.billing import subscriptions as billing
from tenantry.core.context import Context
from tenantry.core.errors import InvalidInput, NotFound
from tenantry.core.pagination import Page, paginate
from tenantry.core.search import prefix_match, searchable
from tenantry.models import (
    AuditEvent,
    Domain,
    HealthStatus,
    Relationship,
    RequestStatus,
    Service,
    ServiceRequest,
    Subscription,
    SubscriptionStatus,
    Tenant,
    User,
)
from tenantry.models.partners import LIVE_STATUSES, OPEN_STATUSES, RelationshipStatus
from tenantry.partners import enrolment as partners
from tenantry.partners.selection import CustomerSelection, selection_condition
from tenantry.support import health

STATUS_RANK = {
    RelationshipStatus.ACTIVE: 1,
    RelationshipStatus.EXPIRING: 2,
    RelationshipStatus.APPROVAL_PENDING: 3,
}
RANKED_STATUS = {rank: status for status, rank in STATUS_RANK.items()}
PAST_END_RANK = 8  # active or expiring, but past ends_at: not live, shown as expired
OPEN_REQUEST = (RequestStatus.OPEN, RequestStatus.IN_PROGRESS)
LOOKUP_LIMIT = 20

# The permission that reading each part of a customer needs (list figures, dashboard sections).
FIGURE_PERMISSIONS: dict[str, Permission] = {
    "default_domain": Permission.DOMAINS_READ,
    "licenses": Permission.SUBSCRIPTIONS_READ,
    "open_service_requests": Permission.SERVICE_REQUESTS_READ,
    "health": Permission.HEALTH_READ,
}
SECTION_PERMISSIONS: dict[str, Permission] = {
    "contact": Permission.TENANT_READ,
    "health": Permission.HEALTH_READ,
    "service_requests": Permission.SERVICE_REQUESTS_READ,
    "subscriptions": Permission.SUBSCRIPTIONS_READ,
    "domains": Permission.DOMAINS_READ,
}


def _sees_all(ctx: Context, partner_id: uuid.UUID) -> bool:
    """Partner admins see every open relationship, pending ones included (name and status)."""
    return access.decide(ctx, partner_id).allows(Permission.PARTNER_MANAGE)


def _visible(ctx: Context, partner_id: uuid.UUID, tenant_column: Any) -> Any:
    """EXISTS a relationship this caller may see in the customer list for the row's tenant:
    for agents a live link (the delegated rule), for partner admins any open relationship."""
    if not _sees_all(ctx, partner_id):
        return access.administrable(ctx.require_principal(), tenant_column, ctx.now)
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
    """One row of the customer list. A figure is None when the agent may not read it there."""

    tenant: Tenant
    relationship_status: RelationshipStatus
    ends_at: datetime | None
    default_domain: str | None = None
    health: HealthStatus | None = None
    licenses_assigned: int | None = None
    licenses_total: int | None = None
    open_service_requests: int | None = None


def overall_health(ctx: Context) -> HealthStatus:
    """The worst status of any platform service (health is platform-wide, not per tenant)."""
    statuses = set(ctx.session.scalars(select(Service.status).distinct()))
    worst_first = (HealthStatus.INCIDENT, HealthStatus.DEGRADED)
    return next((s for s in worst_first if s in statuses), HealthStatus.HEALTHY)


def _summary_columns(ctx: Context, partner_id: uuid.UUID) -> list[Any]:
    """Relationship status and end, then each figure of the row's tenant, as correlated
    scalar subqueries (an index probe per row). The figures are not guarded here:
    ``_readable`` says which of them the agent may read, and ``_summary`` drops the others."""
    rank = case(
        (
            and_(Relationship.status.in_(LIVE_STATUSES), Relationship.ends_at <= ctx.now),
            PAST_END_RANK,
        ),
        *[(Relationship.status == s, r) for s, r in STATUS_RANK.items()],
        else_=9,
    )
    open_relationship = and_(
        Relationship.customer_tenant_id == Tenant.id,
        Relationship.partner_tenant_id == partner_id,
        Relationship.status.in_(OPEN_STATUSES),
    )
    counted = and_(
        Subscription.tenant_id == Tenant.id,
        Subscription.status != SubscriptionStatus.EXPIRED,
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


def _readable(ctx: Context, tenant_ids: list[uuid.UUID]) -> set[tuple[str, uuid.UUID]]:
    """(figure, tenant) pairs the agent may read: ``access.restrict_row_by_row`` of each figure's
    permission, in one query over the given tenants (in a WHERE clause, where the planner
    probes each tenant's links instead of computing them for every customer)."""
    principal = ctx.require_principal()
    parts = [
        select(literal(figure).label("figure"), Tenant.id).where(
            Tenant.id.in_(tenant_ids),
            access.restrict_row_by_row(principal, (permission,), Tenant.id, ctx.now),
        )
        for figure, permission in FIGURE_PERMISSIONS.items()
    ]
    return {(figure, tenant_id) for figure, tenant_id in ctx.session.execute(union_all(*parts))}


def _summaries(ctx: Context, partner_id: uuid.UUID, tenants: list[Tenant]) -> list[CustomerSummary]:
    """The list rows of these tenants (already known visible), in their order: two queries
    whatever their number."""
    ids = [tenant.id for tenant in tenants]
    rows = {
        row[0]: row[1:]
        for row in ctx.session.execute(
            select(Tenant.id, *_summary_columns(ctx, partner_id)).where(Tenant.id.in_(ids))
        )
    }
    readable = _readable(ctx, ids)
    status = overall_health(ctx)
    return [_summary(tenant, rows[tenant.id], readable, status) for tenant in tenants]


def _summary(
    tenant: Tenant,
    figures: Any,
    readable: set[tuple[str, uuid.UUID]],
    health_status: HealthStatus,
) -> CustomerSummary:
    rank, ends_at, domain, assigned, seats, requests = figures

    def may(figure: str) -> bool:
        return (figure, tenant.id) in readable

    return CustomerSummary(
        tenant=tenant,
        relationship_status=RANKED_STATUS.get(rank, RelationshipStatus.EXPIRED),
        ends_at=ends_at,
        default_domain=domain if may("default_domain") else None,
        health=health_status if may("health") else None,
        licenses_assigned=int(assigned) if may("licenses") else None,
        licenses_total=int(seats) if may("licenses") else None,
        open_service_requests=int(requests) if may("open_service_requests") else None,
    )


def visible_condition(ctx: Context, partner_id: uuid.UUID, tenant_column: Any) -> Any:
    """The row's tenant is in this caller's customer list (agents: a live link; partner
    admins: any open relationship), for the services that list within it."""
    return _visible(ctx, partner_id, tenant_column)


def customers(
    ctx: Context,
    *,
    search: str | None,
    cursor: str | None,
    limit: int,
    selection: CustomerSelection | None = None,
) -> Page[CustomerSummary]:
    """The customer list, optionally within a selection ("group G except X"): a dynamic
    group's members as this caller may read them (partners/customer_group_rules.py)."""
    partner = partners.require_partner(ctx, None)
    within = selection_condition(ctx, partner.id, selection, Tenant.id)
    return customers_where(ctx, partner.id, within, search=search, cursor=cursor, limit=limit)


def customers_where(
    ctx: Context,
    partner_id: uuid.UUID,
    within: Any,
    *,
    search: str | None = None,
    cursor: str | None,
    limit: int,
) -> Page[CustomerSummary]:
    """A page of the customer list, within a condition over ``Tenant.id``."""
    stmt: Select[Any] = select(Tenant).where(_visible(ctx, partner_id, Tenant.id), within)
    if search and search.strip():
        term = search.strip().lower()
        named = select(Tenant.id).where(prefix_match(ctx.session, func.lower(Tenant.name), term))
        # Searching by domain only finds customers whose domains the agent may read.
        by_domain = select(Domain.tenant_id).where(
            prefix_match(ctx.session, Domain.name, term),
            access.restrict_to(
                ctx.require_principal(), Permission.DOMAINS_READ, Domain.tenant_id, ctx.now
            ),
        )
        stmt = stmt.where(Tenant.id.in_(named.union(by_domain)))
    page = paginate(ctx.session, stmt, [Tenant.name, Tenant.id], cursor, limit)
    items = _summaries(ctx, partner_id, page.items) if page.items else []
    return Page(items, page.next_cursor)


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
    """One customer as this agent may read it: a section is None when the decision does not
    allow reading it, with the reason in ``hidden``."""

    summary: CustomerSummary
    live: bool
    contact: Tenant | None
    services: list[health.ServiceHealth] | None
    service_requests: list[ServiceRequest] | None
    subscriptions: list[Subscription] | None
    domains: list[Domain] | None
    relationships: list[Relationship]
    sku_names: dict[str, str] = field(default_factory=dict)
    hidden: dict[str, str] = field(default_factory=dict)


def dashboard(ctx: Context, tenant_id: uuid.UUID) -> Dashboard:
    summary = _visible_customer(ctx, tenant_id)
    decision = access.decide(ctx, tenant_id)
    partner_id = ctx.require_principal().tenant_id
    live = decision.delegated
    hidden: dict[str, str] = {}
    for section, permission in SECTION_PERMISSIONS.items():
        if not decision.allows(permission):
            hidden[section] = (
                decision.explain(permission)
                if live
                else (
                    f"The relationship with {summary.tenant.name} is "
                    f"{summary.relationship_status.replace('_', ' ')}: until the customer's "
                    "consent is live, a partner sees its name and the relationship status only."
                )
            )

    def shown(section: str, load: Any) -> Any:
        return None if section in hidden else load()

    return Dashboard(
        summary=summary,
        live=live,
        contact=shown("contact", lambda: summary.tenant),
        services=shown("health", lambda: health.overview(ctx)),
        service_requests=shown(
            "service_requests",
            lambda: list(
                ctx.session.scalars(
                    select(ServiceRequest)
                    .where(ServiceRequest.tenant_id == tenant_id)
                    .order_by(ServiceRequest.created_at.desc())
                    .limit(20)
                )
            ),
        ),
        subscriptions=shown(
            "subscriptions",
            lambda: list(
                ctx.session.scalars(
                    select(Subscription)
                    .where(Subscription.tenant_id == tenant_id)
                    .order_by(Subscription.created_at)
                )
            ),
        ),
        domains=shown(
            "domains",
            lambda: list(
                ctx.session.scalars(
                    select(Domain)
                    .where(Domain.tenant_id == tenant_id)
                    .order_by(Domain.is_initial.desc(), Domain.name)
                )
            ),
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
        sku_names=billing.sku_names(ctx) if "subscriptions" not in hidden else {},
        hidden=hidden,
    )


def access_in(ctx: Context, tenant_id: uuid.UUID) -> access.Decision:
    """Why this agent may (or may not) act in a customer."""
    _visible_customer(ctx, tenant_id)
    return access.decide(ctx, tenant_id)


class LookupMatch(StrEnum):
    """What a Find and Assist hit matched: the customer's name, a domain, or a user."""

    TENANT = "tenant"
    DOMAIN = "domain"
    USER = "user"


@dataclass(frozen=True)
class LookupHit:
    tenant_id: uuid.UUID
    tenant_name: str
    match_type: LookupMatch
    match: str


def lookup(ctx: Context, query: str) -> list[LookupHit]:
    """Find and Assist: a customer by name (where the agent has a live link), one of its
    domains (where it may read domains) or a user's UPN or name (where it may read users).
    Each query walks a prefix index in its own order and checks the hits with the delegated
    rule, so it stops after LOOKUP_LIMIT."""
    partners.require_partner(ctx, None)
    term = query.strip().lower()
    if len(term) < 2:
        raise InvalidInput("Type at least two characters to search.")
    session = ctx.session
    hits: list[LookupHit] = []
    principal = ctx.require_principal()

    def administrable(column: Any) -> Any:
        return access.administrable(principal, column, ctx.now)

    def may(permission: Permission, column: Any) -> Any:
        # Row by row: the prefix index gives the hits in order, each is checked, 20 are kept.
        return access.restrict_row_by_row(principal, (permission,), column, ctx.now)

    tenant_name = func.lower(Tenant.name)
    for tid, name in session.execute(
        select(Tenant.id, Tenant.name)
        .where(prefix_match(session, tenant_name, term), administrable(Tenant.id))
        .order_by(searchable(session, tenant_name))
        .limit(LOOKUP_LIMIT)
    ):
        hits.append(LookupHit(tid, name, LookupMatch.TENANT, name))
    for tid, name, domain in session.execute(
        select(Domain.tenant_id, Tenant.name, Domain.name)
        .join(Tenant, Tenant.id == Domain.tenant_id)
        .where(
            prefix_match(session, Domain.name, term),
            may(Permission.DOMAINS_READ, Domain.tenant_id),
        )
        .order_by(searchable(session, Domain.name))
        .limit(LOOKUP_LIMIT)
    ):
        hits.append(LookupHit(tid, name, LookupMatch.DOMAIN, domain))
    seen: set[str] = set()
    display_name = func.lower(User.display_name)
    for column in (User.user_principal_name, display_name):
        for tid, name, upn in session.execute(
            select(User.tenant_id, Tenant.name, User.user_principal_name)
            .join(Tenant, Tenant.id == User.tenant_id)
            .where(prefix_match(session, column, term), may(Permission.USERS_READ, User.tenant_id))
            .order_by(searchable(session, column))
            .limit(LOOKUP_LIMIT)
        ):
            if upn not in seen:
                seen.add(upn)
                hits.append(LookupHit(tid, name, LookupMatch.USER, upn))
    return hits


def partner_audit(ctx: Context, *, cursor: str | None, limit: int) -> Page[AuditEvent]:
    """What this partner's own agents did in its customers: never the events (and IP
    addresses) of the customers' own administrators."""
    partner = partners.require_partner(ctx)
    stmt: Select[AuditEvent] = select(AuditEvent).where(
        AuditEvent.partner_tenant_id == partner.id,
        AuditEvent.actor_tenant_id == partner.id,
        AuditEvent.tenant_id != partner.id,
    )
    return paginate(
        ctx.session, stmt, [AuditEvent.occurred_at, AuditEvent.id], cursor, limit, descending=True
    )
