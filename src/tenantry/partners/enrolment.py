"""Partner-program enrolment (an operator action)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import or_, select, update

from tenantry import access
from tenantry.access.roles import AgentLevel, Permission, Role
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import Conflict, Forbidden
from tenantry.directory import tenants
from tenantry.directory.role_assignments import global_admin_ids
from tenantry.models import (
    AccessAssignment,
    ApiClient,
    ApiClientKind,
    ApiClientToken,
    Group,
    GroupKind,
    GroupMember,
    Offer,
    Relationship,
    Tenant,
    User,
)
from tenantry.models.partners import LIVE_STATUSES, OfferStatus, Party, RelationshipStatus
from tenantry.operations import webhooks
from tenantry.partners import notifications

ADMIN_AGENTS = "Admin agents"
HELPDESK_AGENTS = "Helpdesk agents"


@dataclass(frozen=True)
class AgentGroup:
    """The group that holds one agent level: its default name (names carry no meaning: the
    group's ``agent_level`` does), description and the roles a classic offer gives it."""

    level: AgentLevel
    name: str
    description: str
    classic_role: Role


AGENT_GROUPS: dict[AgentLevel, AgentGroup] = {
    AgentLevel.FULL: AgentGroup(
        AgentLevel.FULL,
        ADMIN_AGENTS,
        "Full administration of customers (Global Administrator).",
        Role.GLOBAL_ADMINISTRATOR,
    ),
    AgentLevel.LIMITED: AgentGroup(
        AgentLevel.LIMITED,
        HELPDESK_AGENTS,
        "Limited administration of customers (Password Administrator).",
        Role.PASSWORD_ADMINISTRATOR,
    ),
}


@dataclass(frozen=True)
class Enrolment:
    tenant: Tenant
    admin_agents: list[str]
    newly_enrolled: bool


def enroll(ctx: Context, tenant: Tenant) -> Enrolment:
    """Make the tenant a partner: its agent groups exist and its Global Administrators are in
    *Admin agents*. Running it again changes nothing."""
    newly = not tenant.is_partner
    if newly:
        tenants.claim_partner_name(ctx, tenant, tenant.name)
        tenant.is_partner, tenant.partner_enrolled_at = True, ctx.now
    groups = agent_groups(ctx, tenant.id)
    for level, spec in AGENT_GROUPS.items():
        if level not in groups:
            # Never adopt a same-named group: whoever made it would have chosen the agents.
            taken = set(
                ctx.session.scalars(
                    select(Group.name).where(
                        Group.tenant_id == tenant.id, Group.name.startswith(spec.name)
                    )
                )
            )
            unique_name = next(
                n
                for n in (spec.name, *(f"{spec.name} ({i})" for i in range(2, 1000)))
                if n not in taken
            )
            group = Group(
                tenant_id=tenant.id,
                name=unique_name,
                kind=GroupKind.SECURITY,
                description=spec.description,
                agent_level=level.value,
                created_at=ctx.now,
            )
            ctx.session.add(group)
            ctx.session.flush()
            groups[level] = group
    admin_group = groups[AgentLevel.FULL]
    members = set(
        ctx.session.scalars(
            select(GroupMember.user_id).where(GroupMember.group_id == admin_group.id)
        )
    )
    admins = global_admin_ids(ctx, tenant.id)
    for user_id in admins - members:
        ctx.session.add(GroupMember(group_id=admin_group.id, user_id=user_id, added_at=ctx.now))
    upns = list(
        ctx.session.scalars(
            select(User.user_principal_name)
            .where(User.id.in_(admins))
            .order_by(User.user_principal_name)
        )
    )
    if newly:
        audit.record(
            ctx, tenant.id, "partner.enroll", f"tenant:{tenant.id}", details={"admin_agents": upns}
        )
    return Enrolment(tenant, upns, newly)


@dataclass(frozen=True)
class Unenrolment:
    tenant: Tenant
    ended: int
    withdrawn: int
    offers_disabled: int


def unenroll(ctx: Context, tenant: Tenant) -> Unenrolment:
    """Take a tenant out of the partner program (an operator action): its live relationships
    end now, its waiting requests are withdrawn, its offers are disabled, and it is no longer
    a partner (the delegated path also checks ``is_partner``, so access ends even for a
    relationship this missed). Each customer's log has the end; customers are e-mailed."""
    if not tenant.is_partner:
        raise Conflict(f"{tenant.name} is not a partner.", slug="not-a-partner")
    moved: dict[str, list[uuid.UUID]] = {}
    for was, action in (
        (LIVE_STATUSES, "terminate"),
        ({RelationshipStatus.APPROVAL_PENDING}, "withdraw"),
    ):
        moved[action] = list(
            ctx.session.scalars(
                update(Relationship)
                .where(Relationship.partner_tenant_id == tenant.id, Relationship.status.in_(was))
                .values(
                    status=RelationshipStatus.TERMINATED,
                    terminated_at=ctx.now,
                    terminated_by=Party.OPERATOR,
                    version=Relationship.version + 1,
                )
                .returning(Relationship.id)
                .execution_options(synchronize_session=False)
            )
        )
    disabled = list(
        ctx.session.scalars(
            update(Offer)
            .where(Offer.partner_tenant_id == tenant.id, Offer.status == OfferStatus.ACTIVE)
            .values(status=OfferStatus.DISABLED)
            .returning(Offer.id)
            .execution_options(synchronize_session=False)
        )
    )
    # Its API clients act through its groups and are managed in the Partner center, which it
    # no longer has: disabled, with their tokens (enabled again once re-enrolled).
    apps = list(
        ctx.session.scalars(
            update(ApiClient)
            .where(
                ApiClient.tenant_id == tenant.id,
                ApiClient.kind == ApiClientKind.PARTNER,
                ApiClient.enabled,
            )
            .values(enabled=False, updated_at=ctx.now)
            .returning(ApiClient.id)
            .execution_options(synchronize_session=False)
        )
    )
    ctx.session.execute(
        update(ApiClientToken)
        .where(ApiClientToken.client_id.in_(apps), ApiClientToken.revoked_at.is_(None))
        .values(revoked_at=ctx.now)
        .execution_options(synchronize_session=False)
    )
    tenant.is_partner, tenant.partner_enrolled_at = False, None
    tenant.partner_name_key = None  # its name is free for a partner again
    ctx.session.flush()
    for action, ids in moved.items():
        for relationship in ctx.session.scalars(
            select(Relationship)
            .where(Relationship.id.in_(ids))
            .order_by(Relationship.created_at)
            .execution_options(populate_existing=True)
        ):
            for tenant_id in (relationship.customer_tenant_id, tenant.id):
                audit.record(
                    ctx,
                    tenant_id,
                    f"partner.relationship.{action}",
                    f"relationship:{relationship.id}",
                    details={"by": Party.OPERATOR, "reason": "partner unenrolled"},
                    partner_tenant_id=tenant.id,
                    relationship_id=relationship.id,
                )
            if action == "terminate":
                notifications.partner_unenrolled(ctx, relationship)
                webhooks.relationship_event(
                    ctx, webhooks.EventType.RELATIONSHIP_TERMINATED, relationship, by=Party.OPERATOR
                )
    audit.record(
        ctx,
        tenant.id,
        "partner.unenroll",
        f"tenant:{tenant.id}",
        details={
            "relationships_ended": len(moved["terminate"]),
            "requests_withdrawn": len(moved["withdraw"]),
            "offers_disabled": len(disabled),
            "api_clients_disabled": len(apps),
        },
    )
    return Unenrolment(tenant, len(moved["terminate"]), len(moved["withdraw"]), len(disabled))


def agent_groups(ctx: Context, tenant_id: uuid.UUID) -> dict[AgentLevel, Group]:
    """A partner's agent groups by level (found by kind, never by name)."""
    return {
        AgentLevel(g.agent_level): g
        for g in ctx.session.scalars(
            select(Group).where(Group.tenant_id == tenant_id, Group.agent_level.is_not(None))
        )
        if g.agent_level
    }


def is_partner_agent(ctx: Context, user: User) -> bool:
    """A user of a partner tenant in one of its agent groups, or in any group that an access
    assignment gives customer roles to."""
    tenant = ctx.session.get(Tenant, user.tenant_id)
    if tenant is None or not tenant.is_partner:
        return False
    assigned_groups = select(AccessAssignment.group_id)
    return (
        ctx.session.scalar(
            select(GroupMember.user_id)
            .join(Group, Group.id == GroupMember.group_id)
            .where(
                GroupMember.user_id == user.id,
                Group.tenant_id == tenant.id,
                or_(Group.agent_level.is_not(None), Group.id.in_(assigned_groups)),
            )
            .limit(1)
        )
        is not None
    )


def require_partner(
    ctx: Context, permission: Permission | None = Permission.PARTNER_MANAGE
) -> Tenant:
    """The caller's own tenant, which must be a partner, with ``permission`` there (None: any
    member, e.g. an agent looking at the customers it may administer)."""
    principal = ctx.require_principal()
    tenant = ctx.session.get(Tenant, principal.tenant_id)
    if tenant is None or not tenant.is_partner:
        raise Forbidden(
            "Your organisation is not enrolled in the partner program.", slug="not-a-partner"
        )
    if permission is not None:
        access.require(ctx, tenant.id, permission)
    return tenant
