"""Small service-level factories: tenants, partners, relationships, access assignments,
policies, agents and customer data written directly in the database (no HTTP), so a test can
build many random worlds quickly inside one transaction and roll it back.

The one place to build worlds for service-level tests (a rule of a domain package, where HTTP
would add nothing but time); tests of the API or pages build through HTTP with the
``Org``/``Partner`` helpers of tests/conftest.py instead. Each factory flushes, so ids are set
and later rows can point at earlier ones. Use them in a session the test rolls back, so
nothing is committed and the worlds of different examples never meet::

    now = datetime.now(UTC)
    with sessions() as session:
        try:
            partner = factories.tenant(session, "Fabrikam", now, is_partner=True)
            customer = factories.tenant(session, "Contoso", now)
            agent = factories.user(session, partner, "agent@fabrikam.example", now)
            agents = factories.group(session, partner, "Admin agents", now, [agent])
            link = factories.relationship(
                session, partner, customer, now,
                roles=[Role.USER_ADMINISTRATOR], status="active", ends_at=None,
            )
            factories.assignment(session, link, agents, [Role.USER_ADMINISTRATOR], now)
            principal = factories.principal(agent, mfa=True)
            ctx = Context(session=session, settings=settings, principal=principal, now=now)
            ...  # call the service with ctx, assert on what it returns or refuses
        finally:
            session.rollback()

tests/access/test_one_rule.py builds its random worlds this way."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session

from tenantry.access.roles import Role
from tenantry.core.context import Principal, SecondFactor
from tenantry.identity import clients
from tenantry.models import (
    AccessAssignment,
    Activation,
    ActivationStatus,
    ApiClient,
    ApiClientGroup,
    ApiClientKind,
    ApiClientRole,
    Domain,
    Group,
    GroupMember,
    PartnerPolicy,
    Relationship,
    RoleAssignment,
    ServiceRequest,
    Subscription,
    Tenant,
    User,
)


def tenant(session: Session, name: str, now: datetime, *, is_partner: bool = False) -> Tenant:
    row = Tenant(
        name=name,
        is_partner=is_partner,
        partner_enrolled_at=now if is_partner else None,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def user(session: Session, home: Tenant, upn: str, now: datetime, name: str = "") -> User:
    row = User(
        tenant_id=home.id,
        user_principal_name=upn,
        display_name=name or upn.split("@")[0],
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def group(
    session: Session, home: Tenant, name: str, now: datetime, members: Iterable[User]
) -> Group:
    row = Group(tenant_id=home.id, name=name, kind="security", created_at=now)
    session.add(row)
    session.flush()
    for member in members:
        session.add(GroupMember(group_id=row.id, user_id=member.id, added_at=now))
    session.flush()
    return row


def role_assignment(session: Session, home: Tenant, who: User, role: Role, now: datetime) -> None:
    session.add(RoleAssignment(tenant_id=home.id, user_id=who.id, role=role.value, created_at=now))
    session.flush()


def relationship(
    session: Session,
    partner: Tenant,
    customer: Tenant,
    now: datetime,
    *,
    roles: Iterable[Role],
    status: str,
    ends_at: datetime | None,
) -> Relationship:
    row = Relationship(
        partner_tenant_id=partner.id,
        customer_tenant_id=customer.id,
        roles=sorted(r.value for r in roles),
        status=status,
        duration_days=30,
        created_at=now,
        activated_at=None if status == "approval_pending" else now - timedelta(days=1),
        ends_at=ends_at,
    )
    session.add(row)
    session.flush()
    return row


def assignment(
    session: Session,
    link: Relationship,
    to: Group,
    roles: Iterable[Role],
    now: datetime,
    eligible: Iterable[Role] = (),
) -> AccessAssignment:
    row = AccessAssignment(
        relationship_id=link.id,
        group_id=to.id,
        roles=sorted(r.value for r in roles),
        eligible_roles=sorted(r.value for r in eligible),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def policy(
    session: Session,
    customer: Tenant,
    blocked: Iterable[str],
    now: datetime,
    *,
    ga_approval: bool = False,
) -> None:
    session.add(
        PartnerPolicy(
            tenant_id=customer.id,
            blocked_permissions=sorted(blocked),
            require_customer_approval_for_global_admin=ga_approval,
            updated_at=now,
        )
    )
    session.flush()


class ActivationState(StrEnum):
    """What became of an activation, for building worlds: the stored status and the times
    that make it count now (``active``) or not."""

    ACTIVE = "active"  # started ten minutes ago, ends in thirty
    EXPIRED = "expired"  # active, but ended a minute ago
    ENDED = "ended"  # ended early
    PENDING = "pending"  # waiting for approval
    DENIED = "denied"


def activation(
    session: Session,
    link: Relationship,
    requester: User,
    role: Role,
    now: datetime,
    state: ActivationState,
    *,
    customer_approved: bool = False,
) -> Activation:
    started = state in (ActivationState.ACTIVE, ActivationState.EXPIRED, ActivationState.ENDED)
    status = {
        ActivationState.ACTIVE: ActivationStatus.ACTIVE,
        ActivationState.EXPIRED: ActivationStatus.ACTIVE,
        ActivationState.ENDED: ActivationStatus.ENDED,
        ActivationState.PENDING: ActivationStatus.PENDING_APPROVAL,
        ActivationState.DENIED: ActivationStatus.DENIED,
    }[state]
    ends_at = now - timedelta(minutes=1) if state == ActivationState.EXPIRED else None
    row = Activation(
        partner_tenant_id=link.partner_tenant_id,
        customer_tenant_id=link.customer_tenant_id,
        relationship_id=link.id,
        requester_user_id=requester.id,
        requester_upn=requester.user_principal_name,
        role=role.value,
        minutes=60,
        justification="world",
        status=status,
        requested_at=now - timedelta(minutes=61),
        pending_expires_at=now + timedelta(hours=20),
        customer_approved_at=now - timedelta(minutes=10) if customer_approved else None,
        starts_at=now - timedelta(minutes=10) if started else None,
        ends_at=ends_at or (now + timedelta(minutes=30) if started else None),
        ended_at=now - timedelta(minutes=5) if state == ActivationState.ENDED else None,
    )
    session.add(row)
    session.flush()
    return row


def customer_data(session: Session, customer: Tenant, label: str, now: datetime) -> None:
    """A default domain, a user, a subscription and an open service request."""
    session.add(
        Domain(
            tenant_id=customer.id,
            name=f"{label}.example",
            status="verified",
            verification_token=uuid.uuid4().hex,
            capabilities=["email"],
            is_initial=True,
            is_default=True,
            created_at=now,
        )
    )
    user(session, customer, f"{label}.user@{label}.example", now)
    session.add(
        Subscription(
            tenant_id=customer.id,
            sku_id="business_standard",
            seats=5,
            status="active",
            created_at=now,
        )
    )
    session.add(
        ServiceRequest(
            tenant_id=customer.id, title="Help", description="d", created_at=now, updated_at=now
        )
    )
    session.flush()


def principal(who: User, *, mfa: bool, factor: SecondFactor | None = None) -> Principal:
    """``who`` signed in; with ``mfa`` by a TOTP code unless ``factor`` says which."""
    proven = factor or (SecondFactor.TOTP if mfa else SecondFactor.NONE)
    return Principal(
        user_id=who.id,
        tenant_id=who.tenant_id,
        user_principal_name=who.user_principal_name,
        display_name=who.display_name,
        mfa=proven != SecondFactor.NONE,
        must_change_password=False,
        second_factor=proven,
    )


def api_client(
    session: Session,
    home: Tenant,
    name: str,
    now: datetime,
    *,
    groups: Iterable[Group] = (),
    roles: Iterable[Role] = (),
) -> ApiClient:
    """A partner's API client in ``groups``, or (with ``roles``) a tenant's own client."""
    groups, roles = list(groups), list(roles)
    row = ApiClient(
        tenant_id=home.id,
        kind=ApiClientKind.TENANT if roles else ApiClientKind.PARTNER,
        name=name,
        client_id=clients.new_client_id(),
        secret_hash=clients.digest(clients.new_secret()),
        allowed_ips=[],
        enabled=True,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    for g in groups:
        session.add(ApiClientGroup(client_id=row.id, group_id=g.id, added_at=now))
    for r in roles:
        session.add(ApiClientRole(client_id=row.id, role=r.value, added_at=now))
    session.flush()
    return row


def client_principal(client: ApiClient, home: Tenant) -> Principal:
    """The client as a request with one of its tokens would see it."""
    return clients.principal_of(client, home.name)
