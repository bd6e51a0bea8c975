"""Reports and Find and Assist's search across customers (issue 14), at the service level on a
small world with mixed grants (both databases): each report equals, item for item, what
``access.decide`` lets the agent read in each customer, read back in plain Python; never a
customer that never consented, a relationship that is not live, or another partner's.
Each world is built in one transaction and rolled back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tenantry import access
from tenantry.access.roles import Permission, Role
from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.core.errors import Forbidden
from tenantry.models import (
    AuditEvent,
    LicenseAssignment,
    Relationship,
    RoleAssignment,
    Subscription,
    Tenant,
    User,
)
from tenantry.partners import reports, user_search
from tenantry.partners.reports import ReportKind
from tenantry.partners.selection import CustomerSelection
from tenantry.partners.user_search import UserFilters
from tests import factories


@dataclass
class World:
    partner: Tenant
    agent_ctx: Context
    admin_ctx: Context
    customers: dict[str, Tenant] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)


# customer label -> (relationship roles, status, ends in days (None: no end; < 0: past), policy
# blocks). None for roles: no relationship at all (a tenant that never consented).
CUSTOMERS: dict[str, tuple[list[Role] | None, str, int | None, list[str]]] = {
    "reader": ([Role.GLOBAL_READER], "active", 30, []),
    "password": ([Role.PASSWORD_ADMINISTRATOR], "active", 30, []),
    "license": ([Role.LICENSE_ADMINISTRATOR], "expiring", 3, []),
    "billing": ([Role.BILLING_ADMINISTRATOR], "active", 30, []),
    "security": ([Role.SECURITY_READER], "active", 30, []),
    "blocked": ([Role.GLOBAL_READER], "active", 30, ["users.read"]),
    "ended": ([Role.GLOBAL_READER], "active", -1, []),
    "expired": ([Role.GLOBAL_READER], "expired", -5, []),
    "pending": ([Role.GLOBAL_READER], "approval_pending", None, []),
    "stranger": (None, "", None, []),
}


def _build(session: Session, settings: Settings, now: datetime) -> World:
    label = uuid.uuid4().hex[:8]
    partner = factories.tenant(session, f"Fabrikam {label}", now, is_partner=True)
    agent = factories.user(session, partner, f"agent@{label}.fabrikam.example", now)
    admin = factories.user(session, partner, f"admin@{label}.fabrikam.example", now)
    factories.role_assignment(session, partner, admin, Role.GLOBAL_ADMINISTRATOR, now)
    agents = factories.group(session, partner, "Agents", now, [agent])
    other = factories.tenant(session, f"Other partner {label}", now, is_partner=True)
    world = World(
        partner,
        Context(
            session=session,
            settings=settings,
            principal=factories.principal(agent, mfa=True),
            now=now,
        ),
        Context(
            session=session,
            settings=settings,
            principal=factories.principal(admin, mfa=True),
            now=now,
        ),
    )
    for name, (roles, status, days, blocked) in CUSTOMERS.items():
        customer = factories.tenant(session, f"{name} {label}", now)
        world.customers[name] = customer
        domain = f"{name}.{label}.example"
        plain = factories.user(session, customer, f"=cmd|plain@{domain}", now, "+Plain")
        admin_user = factories.user(session, customer, f"admin@{domain}", now, "Admin")
        grouped = factories.user(session, customer, f"grouped@{domain}", now, "Grouped")
        disabled = factories.user(session, customer, f"disabled@{domain}", now, "Disabled")
        disabled.enabled = False
        admin_user.mfa_enabled = True
        factories.role_assignment(session, customer, admin_user, Role.USER_ADMINISTRATOR, now)
        helpdesk = factories.group(session, customer, "Helpdesk", now, [grouped])
        session.add(
            RoleAssignment(
                tenant_id=customer.id,
                role="password_administrator",
                group_id=helpdesk.id,
                created_at=now,
            )
        )
        subscription = Subscription(
            tenant_id=customer.id,
            sku_id="business_standard",
            seats=5,
            assigned=1,
            status="active",
            created_at=now,
        )
        session.add(subscription)
        session.flush()
        session.add(
            LicenseAssignment(
                tenant_id=customer.id,
                subscription_id=subscription.id,
                user_id=grouped.id,
                assigned_at=now,
            )
        )
        for key, user in (
            ("plain", plain),
            ("admin", admin_user),
            ("grouped", grouped),
            ("disabled", disabled),
        ):
            world.users[f"{name}.{key}"] = user
        if blocked:
            factories.policy(session, customer, blocked, now)
        if roles is None:
            # Consented to another partner only: never ours to see.
            link = factories.relationship(
                session,
                other,
                customer,
                now,
                roles=[Role.GLOBAL_READER],
                status="active",
                ends_at=None,
            )
            continue
        ends_at = None if days is None else now + timedelta(days=days)
        link = factories.relationship(
            session, partner, customer, now, roles=roles, status=status, ends_at=ends_at
        )
        factories.assignment(session, link, agents, roles, now)
    session.flush()
    return world


@pytest.fixture
def world(sessions: sessionmaker[Session], settings: Settings) -> Any:
    now = datetime.now(UTC).replace(microsecond=0)
    with sessions() as session:
        try:
            yield _build(session, settings, now)
        finally:
            session.rollback()


def _rows(ctx: Context, kind: ReportKind, selection: CustomerSelection | None = None) -> list[Any]:
    plan = reports.plan_report(ctx, kind, selection)
    return [_norm(r) for r in reports.as_dicts(plan, reports.rows_in(ctx.session, plan))]


def _norm(row: dict[str, Any]) -> dict[str, Any]:
    """Ids as text (the users report reads them as text, other rows as UUIDs)."""
    return {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in row.items()}


def _licenses_of(session: Session, user_id: uuid.UUID) -> list[str]:
    return sorted(
        session.scalars(
            select(Subscription.sku_id)
            .join(LicenseAssignment, LicenseAssignment.subscription_id == Subscription.id)
            .where(LicenseAssignment.user_id == user_id)
        )
    )


def _expected_users(world: World) -> list[dict[str, Any]]:
    """The users report read off the decision: per customer of the partner, the users if the
    decision allows users.read, their roles if roles.read, licences if subscriptions.read."""
    ctx = world.agent_ctx
    expected = []
    for customer in sorted(world.customers.values(), key=lambda t: (t.name, str(t.id))):
        decision = access.decide(ctx, customer.id)
        if not decision.allows(Permission.USERS_READ):
            continue
        users = sorted(
            ctx.session.scalars(select(User).where(User.tenant_id == customer.id)),
            key=lambda u: u.user_principal_name,
        )
        roles = access.user_roles(ctx.session, [u.id for u in users])
        for user in users:
            expected.append(
                _norm(
                    {
                        "tenant_id": customer.id,
                        "tenant_name": customer.name,
                        "user_id": user.id,
                        "user_principal_name": user.user_principal_name,
                        "display_name": user.display_name,
                        "enabled": user.enabled,
                        "second_factor": user.mfa_enabled,
                        "admin_roles": sorted(r.value for r in roles[user.id])
                        if decision.allows(Permission.ROLES_READ)
                        else None,
                        "licenses": _licenses_of(ctx.session, user.id)
                        if decision.allows(Permission.SUBSCRIPTIONS_READ)
                        else None,
                        "last_sign_in_at": user.last_sign_in_at,
                    }
                )
            )
    return expected


def _names(world: World, rows: list[dict[str, Any]]) -> set[str]:
    by_id = {str(t.id): name for name, t in world.customers.items()}
    return {by_id[str(r["tenant_id"])] for r in rows}


def test_the_users_report_is_what_the_decision_may_read(world: World) -> None:
    rows = _rows(world.agent_ctx, ReportKind.USERS)
    assert rows == _expected_users(world)
    # The world's mix, said plainly: rows only where users.read holds, cells per permission.
    assert _names(world, rows) == {"reader", "password", "license", "security"}
    by_customer = {_names(world, [r]).pop(): r for r in rows if r["display_name"] == "Grouped"}
    assert by_customer["reader"]["admin_roles"] == ["password_administrator"]
    assert by_customer["reader"]["licenses"] == ["business_standard"]
    assert by_customer["password"]["admin_roles"] is None  # no roles.read
    assert by_customer["password"]["licenses"] is None  # no subscriptions.read
    assert by_customer["license"]["admin_roles"] is None
    assert by_customer["license"]["licenses"] == ["business_standard"]
    assert by_customer["security"]["admin_roles"] == ["password_administrator"]
    assert by_customer["security"]["licenses"] is None


def test_the_licenses_and_admins_reports_are_what_the_decision_may_read(world: World) -> None:
    ctx = world.agent_ctx
    licenses = _rows(ctx, ReportKind.LICENSES)
    admins = _rows(ctx, ReportKind.ADMINS)
    for name, customer in world.customers.items():
        decision = access.decide(ctx, customer.id)
        mine = [r for r in licenses if r["tenant_id"] == str(customer.id)]
        if decision.allows(Permission.SUBSCRIPTIONS_READ):
            assert [(r["sku_id"], r["used"], r["total"], r["status"]) for r in mine] == [
                ("business_standard", 1, 5, "active")
            ], name
        else:
            assert mine == [], name
        theirs = [r for r in admins if r["tenant_id"] == str(customer.id)]
        if not decision.allows(Permission.ROLES_READ):
            assert theirs == [], name
            continue
        named = decision.allows(Permission.USERS_READ)
        admin_user = world.users[f"{name}.admin"]
        grouped = world.users[f"{name}.grouped"]
        assert theirs == [
            _norm(
                {
                    "tenant_id": customer.id,
                    "tenant_name": customer.name,
                    "user_id": u.id,
                    "user_principal_name": u.user_principal_name if named else None,
                    "display_name": u.display_name if named else None,
                    "roles": [role],
                }
            )
            for u, role in sorted(
                [(admin_user, "user_administrator"), (grouped, "password_administrator")],
                key=lambda pair: pair[0].user_principal_name,
            )
        ], name
    assert _names(world, licenses) == {"reader", "license", "billing", "blocked"}
    # "blocked" keeps roles.read (its policy blocks users.read only): admins without names.
    assert _names(world, admins) == {"reader", "security", "blocked"}


def test_the_relationships_report_is_the_partners_own_list_for_admins_only(
    world: World,
) -> None:
    with pytest.raises(Forbidden):
        reports.plan_report(world.agent_ctx, ReportKind.RELATIONSHIPS, None)
    rows = _rows(world.admin_ctx, ReportKind.RELATIONSHIPS)
    session = world.admin_ctx.session
    mine = session.scalars(
        select(Relationship).where(Relationship.partner_tenant_id == world.partner.id)
    ).all()
    assert {r["relationship_id"] for r in rows} == {str(r.id) for r in mine}
    status = {_names(world, [r]).pop(): r["status"] for r in rows}
    assert "stranger" not in status  # another partner's relationship
    assert status["ended"] == "expired"  # active but past its end: not live
    assert status["pending"] == "approval_pending"
    assert status["license"] == "expiring"
    reader = next(r for r in rows if r["tenant_id"] == str(world.customers["reader"].id))
    assert reader["roles"] == ["global_reader"]
    assert reader["auto_extend"] is False
    assert reader["ends_at"] is not None


def test_a_selection_narrows_every_report(world: World) -> None:
    reader, license_ = world.customers["reader"], world.customers["license"]
    only = CustomerSelection(customers=(reader.id, license_.id))
    assert _names(world, _rows(world.agent_ctx, ReportKind.USERS, only)) == {"reader", "license"}
    but = CustomerSelection(except_customers=(reader.id,))
    assert _names(world, _rows(world.agent_ctx, ReportKind.USERS, but)) == {
        "password",
        "license",
        "security",
    }
    # Naming a customer that never consented selects nothing.
    stranger = CustomerSelection(customers=(world.customers["stranger"].id,))
    assert _rows(world.agent_ctx, ReportKind.USERS, stranger) == []


def test_running_a_report_is_audited_in_the_partners_log(world: World) -> None:
    _rows(world.agent_ctx, ReportKind.USERS)
    event = world.agent_ctx.session.scalars(
        select(AuditEvent).where(
            AuditEvent.tenant_id == world.partner.id, AuditEvent.action == "partner.report.run"
        )
    ).one()
    assert event.details["report"] == "users"
    assert event.details["customers_selected"] == 9  # all but the stranger
    assert event.actor_user_id == world.agent_ctx.require_principal().user_id


def _found(world: World, **filters: Any) -> set[str]:
    page = user_search.search_users(
        world.agent_ctx, None, UserFilters(**filters), cursor=None, limit=200
    )
    keys = {u.id: key for key, u in world.users.items()}
    return {keys[row["user_id"]] for row in page.items}


def test_find_filters(world: World) -> None:
    readable = {"reader", "password", "license", "security"}
    everyone = {f"{c}.{k}" for c in readable for k in ("plain", "admin", "grouped", "disabled")}
    assert _found(world) == everyone
    assert _found(world, disabled=True) == {f"{c}.disabled" for c in readable}
    assert _found(world, disabled=False) == everyone - {f"{c}.disabled" for c in readable}
    assert _found(world, no_second_factor=True) == everyone - {f"{c}.admin" for c in readable}
    # An admin role is found only where the agent may read roles ...
    assert _found(world, admin_role=True) == {
        f"{c}.{k}" for c in ("reader", "security") for k in ("admin", "grouped")
    }
    # ... and "unlicensed" only where it may read subscriptions.
    assert _found(world, unlicensed=True) == {
        f"{c}.{k}" for c in ("reader", "license") for k in ("plain", "admin", "disabled")
    }
    assert _found(world, query="admin@") == {f"{c}.admin" for c in readable}
    assert _found(world, query="grouped", admin_role=True, disabled=False) == {
        "reader.grouped",
        "security.grouped",
    }


def test_find_pages_by_cursor_and_shows_cells_as_the_report_does(world: World) -> None:
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = user_search.search_users(
            world.agent_ctx, None, UserFilters(), cursor=cursor, limit=5
        )
        seen.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    report = {r["user_id"]: r for r in _expected_users(world)}
    assert len(seen) == len(report) == 16
    assert {str(r["user_id"]): _norm(r) for r in seen} == report


def test_the_job_targets_keep_their_shape(world: World) -> None:
    stmt = user_search.matching_users(
        world.agent_ctx, world.partner.id, None, UserFilters(disabled=True)
    )
    pairs = {(row[0], row[1]) for row in world.agent_ctx.session.execute(stmt)}
    assert pairs == {
        (world.customers[c].id, world.users[f"{c}.disabled"].id)
        for c in ("reader", "password", "license", "security")
    }
