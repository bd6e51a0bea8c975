"""Relationships between a partner and a customer: lifecycle, access assignments, agents,
the customer's view and partner policy.

Every transition is a conditional UPDATE (``WHERE status IN (...)``) so concurrent accepts or
terminations of the same relationship resolve to exactly one winner on either database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import Select, delete, select, update

from tenantry import access
from tenantry.access.roles import AgentLevel, Permission, Role
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import (
    Conflict,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
)
from tenantry.core.pagination import Page, paginate
from tenantry.core.scoped import get_scoped
from tenantry.directory import tenants
from tenantry.directory.role_assignments import ensure_global_admin_remains
from tenantry.models import (
    AccessAssignment,
    Group,
    GroupMember,
    Offer,
    PartnerPolicy,
    Relationship,
    Tenant,
    User,
)
from tenantry.models.partners import LIVE_STATUSES
from tenantry.partners import enrolment as partners
from tenantry.partners import notifications

OPEN_STATUSES = ("approval_pending", *LIVE_STATUSES)


def check_auto_extend(auto_extend: bool, roles: list[str] | list[Role]) -> None:
    if auto_extend and Role.GLOBAL_ADMINISTRATOR.value in [str(r) for r in roles]:
        raise InvalidInput(
            "Auto-extend is not allowed for relationships that include Global Administrator: "
            "full administration must be renewed on purpose.",
            slug="auto-extend-with-global-admin",
        )


def audit_both(ctx: Context, relationship: Relationship, action: str, **details: object) -> None:
    """A relationship event belongs in both tenants' logs."""
    for tenant_id in (relationship.customer_tenant_id, relationship.partner_tenant_id):
        audit.record(
            ctx,
            tenant_id,
            action,
            f"relationship:{relationship.id}",
            details={k: str(v) for k, v in details.items()},
            partner_tenant_id=relationship.partner_tenant_id,
            relationship_id=relationship.id,
        )


def _new(ctx: Context, offer: Offer, customer_id: uuid.UUID, status: str) -> Relationship:
    relationship = Relationship(
        id=uuid.uuid4(),
        partner_tenant_id=offer.partner_tenant_id,
        customer_tenant_id=customer_id,
        offer_id=offer.id,
        roles=list(offer.roles),
        status=status,
        duration_days=offer.duration_days,
        auto_extend=offer.auto_extend,
        created_at=ctx.now,
    )
    if status == "active":
        relationship.activated_at = ctx.now
        relationship.ends_at = ctx.now + timedelta(days=offer.duration_days)
        relationship.approved_by_user_id = ctx.require_principal().user_id
    else:
        relationship.pending_expires_at = offer.expires_at
    ctx.session.add(relationship)
    ctx.session.flush()
    return relationship


def open_pending(ctx: Context, offer: Offer) -> Relationship:
    """An offer for one customer waits for that customer's approval (90 days)."""
    assert offer.customer_tenant_id is not None
    relationship = _new(ctx, offer, offer.customer_tenant_id, "approval_pending")
    audit_both(ctx, relationship, "partner.relationship.request", roles=offer.roles)
    return relationship


def open_active(ctx: Context, offer: Offer, customer_id: uuid.UUID) -> Relationship:
    relationship = _new(ctx, offer, customer_id, "active")
    audit_both(ctx, relationship, "partner.relationship.accept", roles=offer.roles)
    return relationship


def ensure_not_accepted(ctx: Context, offer: Offer, customer_id: uuid.UUID) -> None:
    live = ctx.session.scalar(
        select(Relationship.id).where(
            Relationship.offer_id == offer.id,
            Relationship.customer_tenant_id == customer_id,
            Relationship.status.in_(LIVE_STATUSES),
        )
    )
    if live:
        raise Conflict(
            "Your organisation has already accepted this offer.", slug="already-accepted"
        )


def activate_pending(ctx: Context, offer: Offer, customer_id: uuid.UUID) -> Relationship:
    won = ctx.session.execute(
        update(Relationship)
        .where(
            Relationship.offer_id == offer.id,
            Relationship.customer_tenant_id == customer_id,
            Relationship.status == "approval_pending",
        )
        .values(
            # The terms are the offer's, as the customer was shown them on the offer page.
            status="active",
            roles=list(offer.roles),
            duration_days=offer.duration_days,
            auto_extend=offer.auto_extend,
            activated_at=ctx.now,
            ends_at=ctx.now + timedelta(days=offer.duration_days),
            approved_by_user_id=ctx.require_principal().user_id,
            version=Relationship.version + 1,
        )
        .returning(Relationship.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    if won is None:
        ensure_not_accepted(ctx, offer, customer_id)
        raise Gone("This offer is no longer waiting for approval.", slug="offer-expired")
    relationship = ctx.session.get(Relationship, won, populate_existing=True)
    assert relationship is not None
    audit_both(ctx, relationship, "partner.relationship.accept", roles=relationship.roles)
    return relationship


def withdraw_pending(ctx: Context, offer: Offer) -> None:
    """A disabled offer for one customer takes its unanswered request with it."""
    withdrawn = list(
        ctx.session.scalars(
            update(Relationship)
            .where(Relationship.offer_id == offer.id, Relationship.status == "approval_pending")
            .values(
                status="terminated",
                terminated_at=ctx.now,
                terminated_by="partner",
                version=Relationship.version + 1,
            )
            .returning(Relationship.id)
            .execution_options(synchronize_session=False)
        )
    )
    for relationship_id in withdrawn:
        relationship = ctx.session.get(Relationship, relationship_id, populate_existing=True)
        assert relationship is not None
        audit_both(ctx, relationship, "partner.relationship.withdraw")


def create_default_assignments(ctx: Context, offer: Offer, relationship: Relationship) -> None:
    """Classic: *Admin agents* -> Global Administrator, *Helpdesk agents* -> Password
    Administrator. Granular: *Admin agents* -> every role of the relationship. The groups are
    found by their agent level, never by name."""
    groups = partners.agent_groups(ctx, offer.partner_tenant_id)
    wanted: dict[AgentLevel, list[str]] = (
        {level: [spec.classic_role.value] for level, spec in partners.AGENT_GROUPS.items()}
        if offer.is_classic
        else {AgentLevel.FULL: list(relationship.roles)}
    )
    for level, roles in wanted.items():
        group = groups.get(level)
        if group is not None:
            ctx.session.add(
                AccessAssignment(
                    relationship_id=relationship.id,
                    group_id=group.id,
                    roles=roles,
                    created_at=ctx.now,
                )
            )
    ctx.session.flush()


def terminate(
    ctx: Context, relationship: Relationship, by: Literal["partner", "customer"]
) -> Relationship:
    ended = ctx.session.execute(
        update(Relationship)
        .where(Relationship.id == relationship.id, Relationship.status.in_(OPEN_STATUSES))
        .values(
            status="terminated",
            terminated_at=ctx.now,
            terminated_by=by,
            version=Relationship.version + 1,
        )
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not ended:
        raise Conflict("This relationship has already ended.", slug="relationship-ended")
    ctx.session.refresh(relationship)
    audit_both(ctx, relationship, "partner.relationship.terminate", by=by)
    notifications.relationship_terminated(ctx, relationship, by)
    return relationship


# --- the customer's side ------------------------------------------------------------------


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
    access.require(ctx, tenant_id, Permission.PARTNER_RELATIONSHIPS_READ)
    stmt: Select[Any] = (
        select(Relationship, Tenant)  # type: ignore[assignment]  # rows of two entities
        .join(Tenant, Tenant.id == Relationship.partner_tenant_id)
        .where(Relationship.customer_tenant_id == tenant_id, Relationship.status.in_(OPEN_STATUSES))
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
    access.require(ctx, tenant_id, Permission.PARTNER_RELATIONSHIPS_READ)
    row = ctx.session.execute(
        select(Relationship, Tenant)
        .join(Tenant, Tenant.id == Relationship.partner_tenant_id)
        .where(Relationship.id == relationship_id, Relationship.customer_tenant_id == tenant_id)
    ).one_or_none()
    if row is None:
        raise NotFound("Partner relationship not found.")
    return row[0], row[1]


def patch_for_customer(
    ctx: Context,
    tenant_id: uuid.UUID,
    relationship_id: uuid.UUID,
    *,
    if_match: str | None,
    auto_extend: bool | None,
) -> tuple[Relationship, Tenant]:
    """The customer decides its terms: auto-extend on or off on a live relationship (never on
    with Global Administrator, docs/architecture.md §3). ``partner_relationships.manage`` is never
    delegated, so only the customer's own administrators get here."""
    access.require(ctx, tenant_id, Permission.PARTNER_RELATIONSHIPS_MANAGE)
    relationship, partner = get_for_customer(ctx, tenant_id, relationship_id)
    _check_if_match(relationship, if_match)
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
    check_auto_extend(auto_extend, relationship.roles)
    _set_auto_extend(ctx, relationship, auto_extend)
    audit_both(
        ctx, relationship, "partner.relationship.update", auto_extend=auto_extend, by="customer"
    )
    notifications.terms_changed(ctx, relationship, by="customer")
    return relationship, partner


def remove_by_customer(ctx: Context, tenant_id: uuid.UUID, relationship_id: uuid.UUID) -> None:
    access.require(ctx, tenant_id, Permission.PARTNER_RELATIONSHIPS_MANAGE)
    relationship = ctx.session.get(Relationship, relationship_id)
    if relationship is None or relationship.customer_tenant_id != tenant_id:
        raise NotFound("Partner relationship not found.")
    terminate(ctx, relationship, "customer")


@dataclass(frozen=True)
class PolicyView:
    """The customer's partner policy: what partners may never do here, and whether they may
    give admin roles on behalf (off by default: no standing power minted by a partner)."""

    blocked_permissions: list[str]
    allow_privileged_roles: bool


def get_policy(ctx: Context, tenant_id: uuid.UUID) -> PolicyView:
    access.require(ctx, tenant_id, Permission.PARTNER_RELATIONSHIPS_READ)
    policy = ctx.session.get(PartnerPolicy, tenant_id)
    if policy is None:
        return PolicyView([], False)
    return PolicyView(sorted(policy.blocked_permissions), policy.allow_privileged_roles)


def set_policy(
    ctx: Context, tenant_id: uuid.UUID, blocked: list[str], *, allow_privileged_roles: bool = False
) -> PolicyView:
    access.require(ctx, tenant_id, Permission.PARTNER_RELATIONSHIPS_MANAGE)
    try:
        values = sorted({Permission(p).value for p in blocked})
    except ValueError as exc:
        raise InvalidInput(f"Unknown permission in blocked_permissions: {exc}") from exc
    policy = ctx.session.get(PartnerPolicy, tenant_id)
    if policy is None:
        policy = PartnerPolicy(tenant_id=tenant_id, blocked_permissions=values, updated_at=ctx.now)
        ctx.session.add(policy)
    policy.blocked_permissions, policy.updated_at = values, ctx.now
    policy.allow_privileged_roles = allow_privileged_roles
    audit.record(
        ctx,
        tenant_id,
        "partner.policy.update",
        f"tenant:{tenant_id}",
        details={"blocked_permissions": values, "allow_privileged_roles": allow_privileged_roles},
    )
    return PolicyView(values, allow_privileged_roles)


# --- the partner's side -------------------------------------------------------------------


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
    status: str | None,
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


def _check_if_match(relationship: Relationship, if_match: str | None) -> None:
    if if_match is None:
        raise PreconditionRequired("Send If-Match with the ETag of the relationship you read.")
    if if_match.strip().strip('"').removeprefix("W/").strip('"') != str(relationship.version):
        raise PreconditionFailed("The relationship changed since you read it; read it again.")


def _set_auto_extend(ctx: Context, relationship: Relationship, auto_extend: bool) -> None:
    """One conditional UPDATE on the version read: concurrent changes have one winner."""
    changed = ctx.session.execute(
        update(Relationship)
        .where(Relationship.id == relationship.id, Relationship.version == relationship.version)
        .values(auto_extend=auto_extend, version=Relationship.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not changed:
        raise PreconditionFailed("The relationship changed since you read it.")
    ctx.session.refresh(relationship)


CONSENT_NEEDED = (
    "Only the customer can turn auto-extend on: the terms it approved are the terms. A "
    "partner may turn auto-extend off, or ask the customer to turn it on under Partner "
    "relationships."
)


def patch_for_partner(
    ctx: Context, relationship_id: uuid.UUID, *, if_match: str | None, auto_extend: bool | None
) -> Relationship:
    """The partner may give up terms (turn auto-extend off), never add to them: what the
    customer approved, or was asked to approve, is the most the partner gets."""
    relationship = get_for_partner(ctx, relationship_id)
    _check_if_match(relationship, if_match)
    if relationship.status not in OPEN_STATUSES:
        raise Conflict("This relationship has ended.", slug="relationship-ended")
    if auto_extend is None or auto_extend == relationship.auto_extend:
        return relationship
    if auto_extend:
        raise Forbidden(CONSENT_NEEDED, slug="customer-consent-needed")
    _set_auto_extend(ctx, relationship, False)
    if relationship.status == "approval_pending" and relationship.offer_id is not None:
        # The request's offer page shows what accepting gives: keep it true.
        offer = ctx.session.get(Offer, relationship.offer_id)
        if offer is not None and offer.customer_tenant_id == relationship.customer_tenant_id:
            offer.auto_extend = False
    audit_both(ctx, relationship, "partner.relationship.update", auto_extend=False, by="partner")
    notifications.terms_changed(ctx, relationship, by="partner")
    return relationship


def terminate_by_partner(ctx: Context, relationship_id: uuid.UUID) -> Relationship:
    return terminate(ctx, get_for_partner(ctx, relationship_id), "partner")


def list_assignments(ctx: Context, relationship_id: uuid.UUID) -> list[AccessAssignment]:
    relationship = get_for_partner(ctx, relationship_id)
    return list(
        ctx.session.scalars(
            select(AccessAssignment)
            .where(AccessAssignment.relationship_id == relationship.id)
            .order_by(AccessAssignment.created_at, AccessAssignment.id)
        )
    )


def assignable_groups(ctx: Context) -> list[Group]:
    """The partner's security groups, the only ones access can be assigned to."""
    partner = partners.require_partner(ctx)
    return list(
        ctx.session.scalars(
            select(Group)
            .where(Group.tenant_id == partner.id, Group.kind == "security")
            .order_by(Group.name)
        )
    )


def add_assignment(
    ctx: Context, relationship_id: uuid.UUID, group_id: uuid.UUID, roles: list[str]
) -> AccessAssignment:
    relationship = get_for_partner(ctx, relationship_id)
    group = get_scoped(ctx.session, Group, group_id, relationship.partner_tenant_id, "Group")
    if group.kind != "security":
        raise InvalidInput("Access goes through security groups only.")
    chosen = [r.value for r in sorted({Role(r) for r in roles}, key=list(Role).index)]
    if not chosen:
        raise InvalidInput("Give at least one role.")
    extra = set(chosen) - set(relationship.roles)
    if extra:
        raise InvalidInput(
            f"The customer did not approve: {', '.join(sorted(extra))}.",
            slug="role-not-in-relationship",
        )
    if ctx.session.scalar(
        select(AccessAssignment.id).where(
            AccessAssignment.relationship_id == relationship.id,
            AccessAssignment.group_id == group.id,
        )
    ):
        raise Conflict(
            f"'{group.name}' already has an assignment here; remove it first.", slug="duplicate"
        )
    assignment = AccessAssignment(
        relationship_id=relationship.id, group_id=group.id, roles=chosen, created_at=ctx.now
    )
    ctx.session.add(assignment)
    ctx.session.flush()
    audit.record(
        ctx,
        relationship.partner_tenant_id,
        "partner.access_assignment.create",
        f"relationship:{relationship.id}",
        details={"group": group.name, "roles": chosen},
    )
    return assignment


def remove_assignment(ctx: Context, relationship_id: uuid.UUID, assignment_id: uuid.UUID) -> None:
    relationship = get_for_partner(ctx, relationship_id)
    removed = ctx.session.execute(
        delete(AccessAssignment).where(
            AccessAssignment.id == assignment_id,
            AccessAssignment.relationship_id == relationship.id,
        )
    ).rowcount  # type: ignore[attr-defined]
    if not removed:
        raise NotFound("Access assignment not found.")
    audit.record(
        ctx,
        relationship.partner_tenant_id,
        "partner.access_assignment.delete",
        f"relationship:{relationship.id}",
        details={"assignment": str(assignment_id)},
    )


def agent_levels(ctx: Context, users: list[User]) -> dict[uuid.UUID, AgentLevel]:
    """Full / Limited / None for a page of the partner's users, in one query."""
    partner = partners.require_partner(ctx)
    levels: dict[uuid.UUID, set[AgentLevel]] = {u.id: set() for u in users}
    rows = ctx.session.execute(
        select(GroupMember.user_id, Group.agent_level)
        .join(Group, Group.id == GroupMember.group_id)
        .where(
            GroupMember.user_id.in_(list(levels)),
            Group.tenant_id == partner.id,
            Group.agent_level.is_not(None),
        )
    )
    for user_id, level in rows:
        levels[user_id].add(AgentLevel(str(level)))
    return {
        user_id: next(
            (lv for lv in (AgentLevel.FULL, AgentLevel.LIMITED) if lv in held), AgentLevel.NONE
        )
        for user_id, held in levels.items()
    }


def agent_access(ctx: Context, user_id: uuid.UUID) -> tuple[User, AgentLevel]:
    partner = partners.require_partner(ctx)
    user = get_scoped(ctx.session, User, user_id, partner.id, "User")
    return user, agent_levels(ctx, [user])[user.id]


def set_agent_access(ctx: Context, user_id: uuid.UUID, level: AgentLevel) -> User:
    """Full -> *Admin agents*, Limited -> *Helpdesk agents*, None -> neither. Agent groups are
    privileged: only the partner's own administrators (member path, ``roles.assign``) change
    them, and the partner keeps an enabled Global Administrator."""
    user, current = agent_access(ctx, user_id)
    access.require(ctx, user.tenant_id, Permission.ROLES_ASSIGN)
    if current == level:
        return user
    groups = partners.agent_groups(ctx, user.tenant_id)
    if len(groups) != len(partners.AGENT_GROUPS):
        raise Conflict("The agent groups are missing; run 'tenantry partner enroll' again.")
    ctx.session.execute(
        delete(GroupMember).where(
            GroupMember.user_id == user.id,
            GroupMember.group_id.in_([g.id for g in groups.values()]),
        )
    )
    if level != AgentLevel.NONE:
        ctx.session.add(GroupMember(group_id=groups[level].id, user_id=user.id, added_at=ctx.now))
    ensure_global_admin_remains(ctx, user.tenant_id)
    audit.record(
        ctx,
        user.tenant_id,
        "partner.agent.set_access",
        f"user:{user.id}",
        details={"upn": user.user_principal_name, "from": current.value, "to": level.value},
    )
    return user
