"""The provisioning token as the one access module sees it (``access.provisioning_path``):
its own organisation with users and groups, nothing that touches power, no other organisation
on any path (not even a customer of its partner tenant)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tenantry import access
from tenantry.access.roles import PROVISIONING_PERMISSIONS, Permission
from tenantry.core.clock import utcnow
from tenantry.core.context import PrincipalKind
from tenantry.provisioning import tokens
from tests.conftest import Org, Partner, accepted, make_org
from tests.scim.helpers import provisioning_token


def test_the_decision_of_a_provisioning_token(
    partner: Partner, client: TestClient, sessions: sessionmaker[Session]
) -> None:
    customer: Org = make_org(client)
    accepted(partner, customer)
    value = provisioning_token(partner.org, "Partner IdP")["token"]
    home = uuid.UUID(partner.org.tenant_id)
    with sessions.begin() as session:
        principal = tokens.principal_for_token(session, value, utcnow())
        assert principal is not None and principal.kind == PrincipalKind.PROVISIONING
        assert principal.user_id is None and principal.client_id is None
        decision = access.permissions(session, principal, home)
        assert decision.reachable and not decision.delegated
        assert decision.permissions == PROVISIONING_PERMISSIONS
        for power in (
            Permission.ROLES_ASSIGN,
            Permission.USERS_MANAGE_PRIVILEGED,
            Permission.PARTNER_MANAGE,
            Permission.TENANT_UPDATE,
            Permission.AUDIT_READ,
        ):
            assert not decision.allows(power)
            assert "Provisioning (SCIM)" in decision.explain(power)
        assert decision.roles == frozenset()  # a grant of its own, no built-in role
        # Its partner tenant's customer is out of reach (no delegated path for a token).
        elsewhere = access.permissions(session, principal, uuid.UUID(customer.tenant_id))
        assert not elsewhere.reachable
        assert tokens.principal_for_token(session, value + "x", utcnow()) is None
