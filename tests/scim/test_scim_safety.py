"""What provisioning can't do, decided by the one access module (the provisioning token is a
principal with a narrow set of permissions: ``access.provisioning_path``), each an attack
tried here: give admin roles; change the members, name or existence of a privileged group
(holding a role, a partner's agent group, a group named in an access assignment, an approver
group); change, disable, set the password of or delete a privileged user (an admin, or a
member of such a group). Every refusal is a SCIM Error, explained and audited; nothing
changes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tenantry.access.roles import Role
from tenantry.models import AccessAssignment, Group
from tests.conftest import PASSWORD, Org, Partner, accepted, make_org, sign_in
from tests.scim.helpers import USER, Scim, error_of, scim_for


@pytest.fixture
def scim(org: Org) -> Scim:
    return scim_for(org)


def _refused(response: Any) -> str:
    body = error_of(response)
    assert response.status_code == 403, body
    return str(body["detail"])


def test_roles_are_never_written(scim: Scim, org: Org) -> None:
    for roles in ([{"value": "global_administrator"}], [{"value": "x", "primary": True}]):
        refused = error_of(scim.post("/Users", {"userName": "r1", "roles": roles}, expect=400))
        assert refused["scimType"] == "mutability" and "admin roles" in refused["detail"]
    user = scim.create_user("r2", roles=[])  # nothing asked: fine
    path = f"/Users/{user['id']}"
    error_of(
        scim.put(
            path,
            {"schemas": [USER], "userName": "r2", "roles": [{"value": "global_administrator"}]},
            expect=400,
        )
    )
    for operation in (
        {"op": "add", "path": "roles", "value": [{"value": "global_administrator"}]},
        {"op": "replace", "path": f"{USER}:roles", "value": [{"value": "user_administrator"}]},
        {"op": "add", "value": {"roles": [{"value": "global_administrator"}]}},
    ):
        refused = error_of(scim.patch(path, [operation], expect=400))
        assert refused["scimType"] == "mutability"
    held = org.admin.get(f"{org.base}/role-assignments?user_id={user['id']}").json()["items"]
    assert held == []


def test_a_privileged_user_is_read_never_changed(scim: Scim, org: Org) -> None:
    admin = f"/Users/{org.admin_id}"
    before = scim.get(admin).json()
    attempts = [
        scim.patch(admin, [{"op": "replace", "path": "active", "value": False}], expect=None),
        scim.patch(
            admin, [{"op": "replace", "path": "password", "value": "Pwned-Horse-77"}], expect=None
        ),
        scim.patch(admin, [{"op": "replace", "path": "displayName", "value": "X"}], expect=None),
        scim.patch(admin, [{"op": "add", "path": "externalId", "value": "takeover"}], expect=None),
        scim.patch(admin, [{"op": "replace", "path": "userName", "value": "owned"}], expect=None),
        scim.put(
            admin,
            {"userName": before["userName"], "displayName": before["displayName"], "active": False},
            expect=None,
        ),
        scim.delete(admin, expect=None),
    ]
    for response in attempts:
        assert "holds an admin role" in _refused(response)
    after = scim.get(admin).json()
    assert after == before
    sign_in(org.client, org.admin_upn)  # the password is still the admin's own
    # Sending it back as it is changes nothing, so nothing is refused.
    scim.put(
        admin,
        {"userName": before["userName"], "displayName": before["displayName"], "active": True},
    )
    denied = [
        e
        for e in org.admin.get(f"{org.base}/audit-events?limit=200").json()["items"]
        if e["action"] == "access.denied"
    ]
    assert len(denied) >= len(attempts)
    assert denied[0]["actor"]["client_name"].startswith("provisioning token 'Okta'")


def test_a_member_of_a_role_holding_group_is_privileged_and_the_group_too(
    scim: Scim, org: Org
) -> None:
    member = scim.create_user("helpdesk-lead", password=PASSWORD)
    plain = scim.create_user("plain")
    group = scim.create_group("Helpdesk admins", [member["id"]])
    org.admin.post(
        f"{org.base}/role-assignments",
        {"role": Role.USER_ADMINISTRATOR.value, "group_id": group["id"]},
        expect=201,
    )
    path = f"/Groups/{group['id']}"
    for response in (
        scim.patch(
            path, [{"op": "add", "path": "members", "value": [{"value": plain["id"]}]}], expect=None
        ),
        scim.patch(
            path, [{"op": "remove", "path": f'members[value eq "{member["id"]}"]'}], expect=None
        ),
        scim.patch(
            path, [{"op": "replace", "path": "displayName", "value": "Renamed"}], expect=None
        ),
        scim.patch(path, [{"op": "add", "path": "externalId", "value": "x"}], expect=None),
        scim.put(path, {"displayName": "Helpdesk admins", "members": []}, expect=None),
        scim.delete(path, expect=None),
    ):
        assert "holds an admin role" in _refused(response) or "roles.assign" in _refused(response)
    assert [m["value"] for m in scim.get(path).json()["members"]] == [member["id"]]
    user = f"/Users/{member['id']}"
    for response in (
        scim.patch(user, [{"op": "replace", "path": "active", "value": False}], expect=None),
        scim.patch(
            user, [{"op": "replace", "path": "password", "value": "Pwned-Horse-77"}], expect=None
        ),
        scim.delete(user, expect=None),
    ):
        _refused(response)
    sign_in(org.client, f"helpdesk-lead@{org.domain}")
    # A Password Administrator is not privileged (as for a User Administrator): managed.
    pw = scim.create_user("pw-admin")
    org.admin.post(
        f"{org.base}/role-assignments",
        {"role": Role.PASSWORD_ADMINISTRATOR.value, "user_id": pw["id"]},
        expect=201,
    )
    scim.patch(f"/Users/{pw['id']}", [{"op": "replace", "path": "active", "value": False}])


def test_a_partners_agent_access_and_approver_groups_are_out_of_reach(
    partner: Partner, client: TestClient, sessions: sessionmaker[Session]
) -> None:
    """The partner's own provisioning token (its identity system) can't make an agent: agent
    groups, groups given customer roles by an access assignment and approver groups take no
    member and lose none by SCIM, and their members are privileged users."""
    customer = make_org(client)
    relationship = accepted(partner, customer)
    scim = scim_for(partner.org, "Partner IdP")
    tier2 = scim.create_group("Tier 2", [])
    approvers = scim.create_group("Approvers", [])
    with sessions.begin() as session:
        session.add(
            AccessAssignment(
                relationship_id=uuid.UUID(relationship["id"]),
                group_id=uuid.UUID(tier2["id"]),
                roles=[Role.USER_ADMINISTRATOR.value],
                eligible_roles=[Role.GLOBAL_ADMINISTRATOR.value],
                approver_group_id=uuid.UUID(approvers["id"]),
                created_at=session.get(Group, uuid.UUID(tier2["id"])).created_at,  # type: ignore[union-attr]
            )
        )
    newcomer = scim.create_user("newcomer")
    agents = scim.get("/Groups", params={"filter": 'displayName eq "Admin agents"'}).json()
    (admin_agents,) = agents["Resources"]
    for group, why in (
        (admin_agents, "agent group"),
        (tier2, "access assignment"),
        (approvers, "approves"),
    ):
        path = f"/Groups/{group['id']}"
        detail = _refused(
            scim.patch(
                path,
                [{"op": "add", "path": "members", "value": [{"value": newcomer["id"]}]}],
                expect=None,
            )
        )
        assert why in detail, detail
        _refused(scim.delete(path, expect=None))
    # The partner's admin is in Admin agents: privileged, out of reach.
    _refused(
        scim.patch(
            f"/Users/{partner.org.admin_id}",
            [{"op": "replace", "path": "active", "value": False}],
            expect=None,
        )
    )
    # And nothing of the customer is reachable with the partner's token.
    Scim(customer, scim.token).get("/Users", expect=404)
    assert "members" not in scim.get(f"/Groups/{tier2['id']}").json()
