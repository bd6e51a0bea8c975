"""One rule, two uses (docs/architecture.md §2): on random worlds, what the partner views show of a
customer — the customer list's figures, the dashboard's sections, Find and Assist's hits — is
exactly what ``access.permissions`` lets the agent read there, and ``access.restrict_to`` (the
rule as SQL) agrees with the decision for every permission. Each world is built in one
transaction and rolled back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tenantry import access
from tenantry.access.roles import Permission, Role
from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.core.errors import Forbidden, NotFound
from tenantry.models import Relationship, Tenant
from tenantry.partners import views as partner_views
from tests import factories

STATUSES = ["approval_pending", "active", "expiring", "expired", "terminated"]
OPEN = {"approval_pending", "active", "expiring"}
POLICY_CHOICES = [p.value for p in Permission if p.is_read] + ["users.update"]

roles_st = st.frozensets(st.sampled_from(list(Role)), max_size=4)
relationship_st = st.fixed_dictionaries(
    {
        "customer": st.integers(0, 2),
        "roles": roles_st,
        # Mostly live, so that most worlds have something to show (and to hide).
        "status": st.sampled_from([*STATUSES, "active", "active", "expiring"]),
        "ends_in_days": st.sampled_from([-3, 5, 200, 200, None]),
        # (group index, assignment roles; None: the relationship's roles)
        "assignments": st.lists(
            st.tuples(st.integers(0, 1), st.one_of(st.none(), roles_st)), max_size=2
        ),
    }
)
world_st = st.fixed_dictionaries(
    {
        "is_partner": st.booleans(),
        "relationships": st.lists(relationship_st, max_size=4),
        "policies": st.lists(
            st.frozensets(st.sampled_from(POLICY_CHOICES), max_size=4), min_size=3, max_size=3
        ),
        # (groups the agent is in, MFA, Global Administrator at home)
        "agents": st.lists(
            st.tuples(st.frozensets(st.integers(0, 1)), st.booleans(), st.booleans()),
            min_size=1,
            max_size=3,
        ),
    }
)


def _build(session: Session, world: dict[str, Any], now: datetime) -> dict[str, Any]:
    label = "w" + uuid.uuid4().hex[:10]
    partner = factories.tenant(session, f"{label} Partner", now, is_partner=world["is_partner"])
    customers = []
    for i, blocked in enumerate(world["policies"]):
        customer = factories.tenant(session, f"{label} Customer {i}", now)
        factories.customer_data(session, customer, f"{label}-c{i}", now)
        if blocked:
            factories.policy(session, customer, blocked, now)
        customers.append(customer)
    agents = []
    for j, (_, _, admin) in enumerate(world["agents"]):
        agent = factories.user(session, partner, f"agent{j}@{label}-p.example", now)
        if admin:
            factories.role_assignment(session, partner, agent, Role.GLOBAL_ADMINISTRATOR, now)
        agents.append(agent)
    groups = [
        factories.group(
            session,
            partner,
            f"Group {g}",
            now,
            [
                a
                for a, (member_of, _, _) in zip(agents, world["agents"], strict=True)
                if g in member_of
            ],
        )
        for g in range(2)
    ]
    pending: set[int] = set()
    for spec in world["relationships"]:
        if spec["status"] == "approval_pending":
            if spec["customer"] in pending:
                continue  # one open request per partner and customer (a unique index)
            pending.add(spec["customer"])
        days = spec["ends_in_days"]
        link = factories.relationship(
            session,
            partner,
            customers[spec["customer"]],
            now,
            roles=spec["roles"],
            status=spec["status"],
            ends_at=None if days is None else now + timedelta(days=days),
        )
        for g in {g for g, _ in spec["assignments"]}:
            roles = next(r for gi, r in spec["assignments"] if gi == g)
            factories.assignment(
                session, link, groups[g], spec["roles"] if roles is None else roles, now
            )
    principals = [
        factories.principal(a, mfa=mfa)
        for a, (_, mfa, _) in zip(agents, world["agents"], strict=True)
    ]
    return {"label": label, "partner": partner, "customers": customers, "principals": principals}


def _check(session: Session, settings: Settings, built: dict[str, Any], now: datetime) -> None:
    partner: Tenant = built["partner"]
    customers: list[Tenant] = built["customers"]
    ids = [c.id for c in customers]
    for principal in built["principals"]:
        decisions = {c.id: access.permissions(session, principal, c.id, now) for c in customers}
        # The rule as SQL agrees with the decision, for every permission.
        for permission in Permission:
            allowed = set(
                session.scalars(
                    select(Tenant.id).where(
                        Tenant.id.in_(ids),
                        access.restrict_to(principal, permission, Tenant.id, now),
                    )
                )
            )
            expected = {tid for tid, d in decisions.items() if d.delegated and d.allows(permission)}
            assert allowed == expected, (permission, principal.mfa)
        reached = set(
            session.scalars(
                select(Tenant.id).where(
                    Tenant.id.in_(ids), access.administrable(principal, Tenant.id, now)
                )
            )
        )
        assert reached == {tid for tid, d in decisions.items() if d.delegated}
        if not partner.is_partner:
            assert not reached
            ctx = Context(session=session, settings=settings, principal=principal, now=now)
            with pytest.raises(Forbidden):
                partner_views.customers(ctx, search=built["label"], cursor=None, limit=50)
            continue
        _check_views(session, settings, built, principal, decisions, now)


def _check_views(
    session: Session,
    settings: Settings,
    built: dict[str, Any],
    principal: Any,
    decisions: dict[uuid.UUID, access.Decision],
    now: datetime,
) -> None:
    partner: Tenant = built["partner"]
    ctx = Context(session=session, settings=settings, principal=principal, now=now)
    sees_all = access.permissions(session, principal, partner.id, now).allows(
        Permission.PARTNER_MANAGE
    )
    open_with = {
        c
        for c, status in session.execute(
            select(Tenant.id, Relationship.status)
            .join(Relationship, Relationship.customer_tenant_id == Tenant.id)
            .where(Relationship.partner_tenant_id == partner.id)
        )
        if status in OPEN
    }
    listed_expected = (
        open_with if sees_all else {tid for tid, d in decisions.items() if d.delegated}
    )
    page = partner_views.customers(ctx, search=built["label"], cursor=None, limit=50)
    assert {row.tenant.id for row in page.items} == listed_expected
    for row in page.items:
        decision = decisions[row.tenant.id]
        shown = {
            "default_domain": row.default_domain is not None,
            "licenses": row.licenses_assigned is not None,
            "open_service_requests": row.open_service_requests is not None,
            "health": row.health is not None,
        }
        for figure, permission in partner_views.FIGURE_PERMISSIONS.items():
            assert shown[figure] == decision.allows(permission), (figure, decision.explain())
        if not decision.delegated:
            assert not any(shown.values())
        board = partner_views.dashboard(ctx, row.tenant.id)
        sections = {
            "contact": board.contact,
            "health": board.services,
            "service_requests": board.service_requests,
            "subscriptions": board.subscriptions,
            "domains": board.domains,
        }
        for section, permission in partner_views.SECTION_PERMISSIONS.items():
            assert (sections[section] is not None) == decision.allows(permission), section
            assert (section in board.hidden) != decision.allows(permission)
        if decision.allows(Permission.SERVICE_REQUESTS_READ):
            assert board.service_requests
    for tid in set(decisions) - listed_expected:
        with pytest.raises(NotFound):
            partner_views.dashboard(ctx, tid)
    hits = partner_views.lookup(ctx, built["label"])
    by_kind = {
        kind: {h.tenant_id for h in hits if h.match_type == kind}
        for kind in ("tenant", "domain", "user")
    }
    assert by_kind["tenant"] == {tid for tid, d in decisions.items() if d.delegated}
    assert by_kind["domain"] == {
        tid for tid, d in decisions.items() if d.allows(Permission.DOMAINS_READ)
    }
    assert by_kind["user"] == {
        tid for tid, d in decisions.items() if d.allows(Permission.USERS_READ)
    }


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=world_st)
def test_views_show_exactly_what_the_decision_allows(
    sessions: sessionmaker[Session], settings: Settings, world: dict[str, Any]
) -> None:
    now = datetime.now(UTC)
    with sessions() as session:
        try:
            built = _build(session, world, now)
            _check(session, settings, built, now)
        finally:
            session.rollback()
