"""The permission matrix (every role x every permission) and the access engine's paths."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tenantry import access
from tenantry.access import Decision
from tenantry.access.roles import Permission, Role
from tenantry.core.context import Principal
from tests.conftest import Org, make_org

SR = "service_requests.read service_requests.create service_requests.update"
# Written out by hand from docs/architecture.md §2 (roles) — deliberately not derived from
# tenantry.access.roles.
EXPECTED: dict[Role, str] = {
    Role.GLOBAL_ADMINISTRATOR: " ".join(p.value for p in Permission),
    Role.GLOBAL_READER: "tenant.read users.read groups.read roles.read domains.read "
    "subscriptions.read health.read service_requests.read devices.read audit.read "
    "partner_relationships.read",
    Role.USER_ADMINISTRATOR: "tenant.read users.read users.create users.update users.delete "
    f"users.reset_password groups.read groups.create groups.update groups.delete roles.read "
    f"health.read {SR}",
    Role.PASSWORD_ADMINISTRATOR: f"tenant.read users.read users.reset_password health.read {SR}",
    Role.BILLING_ADMINISTRATOR: "tenant.read subscriptions.read subscriptions.purchase "
    f"health.read {SR}",
    Role.LICENSE_ADMINISTRATOR: "tenant.read subscriptions.read licenses.assign "
    "licenses.unassign users.read",
    Role.DOMAIN_NAME_ADMINISTRATOR: "tenant.read domains.read domains.add domains.verify "
    "domains.update domains.remove",
    Role.SERVICE_SUPPORT_ADMINISTRATOR: f"tenant.read health.read {SR}",
    Role.SECURITY_READER: "tenant.read audit.read users.read groups.read roles.read domains.read",
    Role.DEVICE_ADMINISTRATOR: "tenant.read devices.read devices.create devices.update "
    "devices.delete",
}


def principal_for(org: Org, user_id: str) -> Principal:
    return Principal(
        uuid.UUID(user_id),
        uuid.UUID(org.tenant_id),
        org.users[user_id],
        "x",
        mfa=False,
        must_change_password=False,
    )


@pytest.fixture(scope="module")
def matrix(client: TestClient, sessions: sessionmaker[Session]) -> dict[Role, Decision]:
    """One user per role in one organisation, and the engine's decision for each."""
    org = make_org(client)
    users = {role: org.create_user(roles=(role,)) for role in Role}
    with sessions() as session:
        return {
            role: access.permissions(session, principal_for(org, user_id), uuid.UUID(org.tenant_id))
            for role, user_id in users.items()
        }


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
@pytest.mark.parametrize("permission", list(Permission), ids=lambda p: p.value)
def test_permission_matrix(
    matrix: dict[Role, Decision], role: Role, permission: Permission
) -> None:
    expected = permission.value in EXPECTED[role].split()
    assert matrix[role].allows(permission) is expected, matrix[role].explain(permission)


def test_matrix_table_names_only_real_permissions() -> None:
    known = {p.value for p in Permission}
    for role, names in EXPECTED.items():
        assert set(names.split()) <= known, role


def test_explain_names_the_role_and_the_assignment(matrix: dict[Role, Decision]) -> None:
    allowed = matrix[Role.PASSWORD_ADMINISTRATOR].explain(Permission.USERS_RESET_PASSWORD)
    assert allowed.startswith("Allowed:")
    assert "Password Administrator (assigned directly)" in allowed
    denied = matrix[Role.PASSWORD_ADMINISTRATOR].explain(Permission.USERS_CREATE)
    assert denied.startswith("Denied: users.create")
    assert "Password Administrator" in denied


def test_roles_through_a_group_and_no_path(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    org, other = make_org(client), make_org(client)
    user_id = org.create_user()
    group = org.admin.post(f"{org.base}/groups", {"name": "Helpdesk"}, expect=201).json()
    org.admin.post(
        f"{org.base}/role-assignments",
        {"role": "user_administrator", "group_id": group["id"]},
        expect=201,
    )
    org.admin.post(f"{org.base}/groups/{group['id']}/members", {"user_id": user_id}, expect=201)
    principal = principal_for(org, user_id)
    with sessions() as session:
        decision = access.permissions(session, principal, uuid.UUID(org.tenant_id))
        assert decision.path == "member"
        assert decision.allows(Permission.USERS_CREATE)
        assert "through group 'Helpdesk'" in decision.explain(Permission.USERS_CREATE)
        elsewhere = access.permissions(session, principal, uuid.UUID(other.tenant_id))
        assert not elsewhere.reachable and elsewhere.permissions == frozenset()
        nowhere = access.permissions(session, principal, uuid.uuid4())
        assert not nowhere.reachable


def test_member_without_roles_reaches_tenant_but_may_do_nothing(
    org: Org, sessions: sessionmaker[Session]
) -> None:
    user_id = org.create_user()
    with sessions() as session:
        decision = access.permissions(
            session, principal_for(org, user_id), uuid.UUID(org.tenant_id)
        )
    assert decision.reachable and decision.permissions == frozenset()
    assert "no admin role" in decision.explain(Permission.USERS_READ)


# --- the limited-admin rule, through the API ----------------------------------------------


def _reset(api: Any, org: Org, user_id: str, expect: int) -> Any:
    return api.post(f"{org.base}/users/{user_id}/reset-password", expect=expect)


@pytest.mark.parametrize(
    ("actor_role", "target_roles", "allowed"),
    [
        (Role.PASSWORD_ADMINISTRATOR, (), True),
        (Role.PASSWORD_ADMINISTRATOR, (Role.PASSWORD_ADMINISTRATOR,), True),
        (Role.PASSWORD_ADMINISTRATOR, (Role.GLOBAL_ADMINISTRATOR,), False),
        (Role.PASSWORD_ADMINISTRATOR, (Role.USER_ADMINISTRATOR,), False),
        (Role.PASSWORD_ADMINISTRATOR, (Role.GLOBAL_READER,), False),
        (Role.USER_ADMINISTRATOR, (), True),
        (Role.USER_ADMINISTRATOR, (Role.GLOBAL_ADMINISTRATOR,), False),
        (Role.USER_ADMINISTRATOR, (Role.BILLING_ADMINISTRATOR,), False),
        (Role.GLOBAL_ADMINISTRATOR, (Role.GLOBAL_ADMINISTRATOR,), True),
        (Role.GLOBAL_ADMINISTRATOR, (Role.USER_ADMINISTRATOR,), True),
    ],
)
def test_limited_admins_reset_only_non_admins(
    org: Org, actor_role: Role, target_roles: tuple[Role, ...], allowed: bool
) -> None:
    actor = org.user_api((actor_role,))
    target = org.create_user(roles=target_roles)
    response = _reset(actor, org, target, 200 if allowed else 403)
    if allowed:
        assert len(response.json()["temporary_password"]) >= 16
    else:
        assert response.headers["content-type"] == "application/problem+json"
        assert "only a Global Administrator may do this" in response.json()["detail"]


def test_limited_rule_sees_roles_held_through_groups(org: Org) -> None:
    actor = org.user_api((Role.PASSWORD_ADMINISTRATOR,))
    target = org.create_user()
    group = org.admin.post(f"{org.base}/groups", {"name": "Admins"}, expect=201).json()
    org.admin.post(
        f"{org.base}/role-assignments",
        {"role": "global_administrator", "group_id": group["id"]},
        expect=201,
    )
    org.admin.post(f"{org.base}/groups/{group['id']}/members", {"user_id": target}, expect=201)
    _reset(actor, org, target, 403)


def test_user_administrator_cannot_delete_or_disable_a_global_admin(org: Org) -> None:
    actor = org.user_api((Role.USER_ADMINISTRATOR,))
    actor.delete(f"{org.base}/users/{org.admin_id}", expect=403)
    actor.patch(f"{org.base}/users/{org.admin_id}", {"enabled": False}, expect=403)
    assert org.admin.get(f"{org.base}/users/{org.admin_id}").json()["enabled"] is True
