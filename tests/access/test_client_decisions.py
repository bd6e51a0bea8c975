"""API clients in the one decision (docs/architecture.md §2): a tenant's client holds the roles
given to it at home and nothing elsewhere; a partner's client acts through its groups, on the
member path at home and the delegated path in customers, like an agent of those groups; no
client ever holds Global Administrator, and the explanation says so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tenantry import access
from tenantry.access.roles import Permission, Role
from tenantry.models import RoleAssignment
from tests import factories


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as s:
        try:
            yield s
        finally:
            s.rollback()


def test_a_tenant_client_holds_its_roles_at_home_and_nothing_else(session: Session) -> None:
    now = datetime.now(UTC)
    home = factories.tenant(session, "Contoso", now)
    other = factories.tenant(session, "Northwind", now)
    admin = factories.user(session, home, "admin@contoso-tc.example", now)
    factories.role_assignment(session, home, admin, Role.GLOBAL_ADMINISTRATOR, now)
    # A role held by a group the client is not in: never the client's (no user id to match).
    helpdesk = factories.group(session, home, "Helpdesk", now, [admin])
    session.add(
        RoleAssignment(
            tenant_id=home.id, group_id=helpdesk.id, role="global_reader", created_at=now
        )
    )
    client = factories.api_client(session, home, "Sync", now, roles=[Role.USER_ADMINISTRATOR])
    principal = factories.client_principal(client, home)
    assert principal.display_name == "app 'Sync' of Contoso"
    decision = access.permissions(session, principal, home.id, now)
    assert decision.path == "member"
    assert decision.roles == {Role.USER_ADMINISTRATOR}
    assert decision.allows(Permission.USERS_CREATE)
    assert not decision.allows(Permission.ROLES_ASSIGN)
    assert "app 'Sync' of Contoso holds User Administrator (assigned directly)" in (
        decision.explain(Permission.ROLES_ASSIGN)
    )
    assert not access.permissions(session, principal, other.id, now).reachable


def test_a_partner_client_never_holds_global_administrator(session: Session) -> None:
    now = datetime.now(UTC)
    partner = factories.tenant(session, "Fabrikam", now, is_partner=True)
    customer = factories.tenant(session, "Contoso", now)
    admins = factories.group(session, partner, "Admin agents", now, [])
    helpdesk = factories.group(session, partner, "Helpdesk agents", now, [])
    # The group also holds Global Administrator at home.
    session.add(
        RoleAssignment(
            tenant_id=partner.id, group_id=admins.id, role="global_administrator", created_at=now
        )
    )
    link = factories.relationship(
        session,
        partner,
        customer,
        now,
        roles=[Role.GLOBAL_ADMINISTRATOR, Role.PASSWORD_ADMINISTRATOR],
        status="active",
        ends_at=now + timedelta(days=30),
    )
    factories.assignment(session, link, admins, [Role.GLOBAL_ADMINISTRATOR], now)
    factories.assignment(session, link, helpdesk, [Role.PASSWORD_ADMINISTRATOR], now)
    client = factories.api_client(session, partner, "Ops", now, groups=[admins, helpdesk])
    principal = factories.client_principal(client, partner)
    assert principal.display_name == "app 'Ops' of partner Fabrikam" and principal.mfa

    in_customer = access.permissions(session, principal, customer.id, now)
    assert in_customer.delegated
    assert in_customer.roles == {Role.PASSWORD_ADMINISTRATOR}
    assert in_customer.allows(Permission.USERS_RESET_PASSWORD)
    refused = in_customer.explain(Permission.USERS_CREATE)
    assert refused.startswith("Denied:")
    assert "API clients never hold Global Administrator" in refused
    assert "group 'Admin agents'" in refused

    at_home = access.permissions(session, principal, partner.id, now)
    assert at_home.path == "member" and not at_home.grants
    assert not at_home.allows(Permission.PARTNER_MANAGE)
    assert "API clients never hold Global Administrator" in at_home.explain(
        Permission.PARTNER_MANAGE
    )


def test_a_client_in_no_group_reaches_no_customer(session: Session) -> None:
    now = datetime.now(UTC)
    partner = factories.tenant(session, "Fabrikam", now, is_partner=True)
    customer = factories.tenant(session, "Contoso", now)
    agents = factories.group(session, partner, "Helpdesk agents", now, [])
    link = factories.relationship(
        session,
        partner,
        customer,
        now,
        roles=[Role.PASSWORD_ADMINISTRATOR],
        status="active",
        ends_at=now + timedelta(days=30),
    )
    factories.assignment(session, link, agents, [Role.PASSWORD_ADMINISTRATOR], now)
    alone = factories.client_principal(factories.api_client(session, partner, "Idle", now), partner)
    assert not access.permissions(session, alone, customer.id, now).reachable
