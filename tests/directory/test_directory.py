"""Users, groups, members and role assignments through the API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tenantry.access.roles import Role
from tests.conftest import PASSWORD, Org, sign_in


def test_user_crud(org: Org) -> None:
    body = {
        "user_principal_name": f"Megan@{org.domain.upper()}",
        "display_name": "Megan Bowen",
        "password": PASSWORD,
    }
    created = org.admin.post(f"{org.base}/users", body, expect=201).json()
    assert created["user_principal_name"] == f"megan@{org.domain}"
    assert created["enabled"] is True and created["temporary_password"] is None
    uid = created["id"]
    assert org.admin.get(f"{org.base}/users/{uid}").json()["display_name"] == "Megan Bowen"
    patched = org.admin.patch(f"{org.base}/users/{uid}", {"display_name": "Megan B."}).json()
    assert patched["display_name"] == "Megan B."
    org.admin.delete(f"{org.base}/users/{uid}")
    org.admin.get(f"{org.base}/users/{uid}", expect=404)
    actions = [
        e["action"] for e in org.admin.get(f"{org.base}/audit-events?action=user.").json()["items"]
    ]
    assert actions == ["user.delete", "user.update", "user.create"]


def test_user_without_password_gets_a_temporary_one(client: TestClient, org: Org) -> None:
    created = org.admin.post(
        f"{org.base}/users",
        {"user_principal_name": f"alex@{org.domain}", "display_name": "Alex"},
        expect=201,
    ).json()
    assert created["must_change_password"] is True and len(created["temporary_password"]) >= 16
    user = sign_in(client, f"alex@{org.domain}", created["temporary_password"])
    assert user.get("/me").json()["must_change_password"] is True


def test_user_validation_and_duplicates(org: Org, other_org: Org) -> None:
    base = f"{org.base}/users"
    org.admin.post(
        base,
        {"user_principal_name": f"dup@{org.domain}", "display_name": "D", "password": PASSWORD},
        expect=201,
    )
    dup = org.admin.post(
        base,
        {"user_principal_name": f"DUP@{org.domain}", "display_name": "E", "password": PASSWORD},
        expect=409,
    )
    assert dup.json()["type"] == "urn:tenantry:problem:duplicate-upn"
    for bad in (
        {"user_principal_name": "no-at-sign", "display_name": "X"},
        {"user_principal_name": "x@unverified.example", "display_name": "X"},
        {"user_principal_name": f"x@{other_org.domain}", "display_name": "X"},
        {"user_principal_name": f"x@{org.domain}", "display_name": "X", "password": "short"},
        {"user_principal_name": f"x@{org.domain}", "display_name": ""},
        {"display_name": "X"},
    ):
        assert org.admin.post(base, bad).status_code == 422, bad
    org.admin.patch(f"{base}/{org.admin_id}", {"enabled": "maybe"}, expect=422)


def test_list_users_pages_and_searches(org: Org) -> None:
    for i in range(5):
        org.create_user(f"pager{i}")
    page = org.admin.get(f"{org.base}/users?limit=2").json()
    seen = [u["user_principal_name"] for u in page["items"]]
    while page["next_cursor"]:
        page = org.admin.get(f"{org.base}/users?limit=2&cursor={page['next_cursor']}").json()
        seen += [u["user_principal_name"] for u in page["items"]]
    assert seen == sorted(seen) and len(seen) == 6 and len(set(seen)) == 6
    found = org.admin.get(f"{org.base}/users?search=pager3").json()["items"]
    assert [u["user_principal_name"] for u in found] == [f"pager3@{org.domain}"]
    assert org.admin.get(f"{org.base}/users?cursor=garbage", expect=422).json()["status"] == 422
    org.admin.get(f"{org.base}/users?limit=0", expect=422)


def test_cannot_remove_the_last_global_administrator(org: Org) -> None:
    org.admin.delete(f"{org.base}/users/{org.admin_id}", expect=409)
    org.admin.patch(f"{org.base}/users/{org.admin_id}", {"enabled": False}, expect=409)
    assignment = org.admin.get(f"{org.base}/role-assignments?user_id={org.admin_id}").json()
    aid = assignment["items"][0]["id"]
    last = org.admin.delete(f"{org.base}/role-assignments/{aid}", expect=409)
    assert last.json()["type"] == "urn:tenantry:problem:last-global-administrator"
    second = org.create_user(roles=(Role.GLOBAL_ADMINISTRATOR,))
    org.admin.delete(f"{org.base}/role-assignments/{aid}", expect=204)
    assert org.admin.get(f"{org.base}/users/{second}", expect=403).status_code == 403


def test_groups_members_and_roles_through_groups(client: TestClient, org: Org) -> None:
    uid = org.create_user()
    group = org.admin.post(
        f"{org.base}/groups", {"name": "Helpdesk", "description": "Desk"}, expect=201
    ).json()
    assert group["kind"] == "security"
    org.admin.post(f"{org.base}/groups", {"name": "Helpdesk"}, expect=409)
    org.admin.post(f"{org.base}/groups", {"name": "X", "kind": "other"}, expect=422)
    gid = group["id"]
    assert org.admin.get(f"{org.base}/groups/{gid}").json()["description"] == "Desk"
    org.admin.post(f"{org.base}/groups/{gid}/members", {"user_id": uid}, expect=201)
    org.admin.post(f"{org.base}/groups/{gid}/members", {"user_id": uid}, expect=409)
    members = org.admin.get(f"{org.base}/groups/{gid}/members").json()["items"]
    assert [m["id"] for m in members] == [uid]
    org.admin.post(
        f"{org.base}/role-assignments", {"role": "user_administrator", "group_id": gid}, expect=201
    )
    org.admin.post(
        f"{org.base}/role-assignments", {"role": "user_administrator", "group_id": gid}, expect=409
    )
    member = sign_in(client, org.users[uid])
    member.get(f"{org.base}/users", expect=200)
    org.admin.delete(f"{org.base}/groups/{gid}/members/{uid}")
    member.get(f"{org.base}/users", expect=403)
    assert org.admin.patch(f"{org.base}/groups/{gid}", {"name": "Desk"}).json()["name"] == "Desk"
    org.admin.delete(f"{org.base}/groups/{gid}")
    org.admin.get(f"{org.base}/groups/{gid}", expect=404)


def test_role_assignment_rules(org: Org, other_org: Org) -> None:
    dist = org.admin.post(
        f"{org.base}/groups", {"name": "All staff", "kind": "distribution"}, expect=201
    ).json()
    org.admin.post(
        f"{org.base}/role-assignments",
        {"role": "global_reader", "group_id": dist["id"]},
        expect=422,
    )
    org.admin.post(f"{org.base}/role-assignments", {"role": "global_reader"}, expect=422)
    org.admin.post(
        f"{org.base}/role-assignments", {"role": "emperor", "user_id": org.admin_id}, expect=422
    )
    org.admin.post(
        f"{org.base}/role-assignments",
        {"role": "global_reader", "user_id": other_org.admin_id},
        expect=404,
    )
    catalogue = org.admin.get("/roles").json()["items"]
    assert {r["id"] for r in catalogue} == {r.value for r in Role}


def test_user_admin_may_not_grant_roles_through_membership(org: Org) -> None:
    """Adding someone to a role-holding group is assigning a role: it needs roles.assign."""
    admins = org.admin.post(f"{org.base}/groups", {"name": "Admins"}, expect=201).json()
    org.admin.post(
        f"{org.base}/role-assignments",
        {"role": "global_administrator", "group_id": admins["id"]},
        expect=201,
    )
    user_admin = org.user_api((Role.USER_ADMINISTRATOR,))
    me = user_admin.get("/me").json()["id"]
    refused = user_admin.post(
        f"{org.base}/groups/{admins['id']}/members", {"user_id": me}, expect=403
    )
    assert "roles.assign" in refused.json()["detail"]
    user_admin.post(
        f"{org.base}/role-assignments", {"role": "global_administrator", "user_id": me}, expect=403
    )


def test_tenant_profile(org: Org) -> None:
    tenant = org.admin.get(org.base).json()
    assert tenant["default_domain"] == org.domain and tenant["is_partner"] is False
    patched = org.admin.patch(
        org.base,
        {
            "phone": "+1 555 0100",
            "city": "Redmond",
            "technical_contact_email": "it@contoso.example",
        },
    ).json()
    assert (patched["phone"], patched["city"]) == ("+1 555 0100", "Redmond")
    org.admin.patch(org.base, {"technical_contact_email": "not-an-email"}, expect=422)
    org.admin.patch(org.base, {"name": ""}, expect=422)
    reader = org.user_api((Role.GLOBAL_READER,))
    reader.get(org.base, expect=200)
    reader.patch(org.base, {"phone": "1"}, expect=403)
