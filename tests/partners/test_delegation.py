"""Administer on behalf of: the delegated path, MFA, exclusions, partner policy, removal,
agents and access assignments — and every refusal."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import Org, Partner, accepted, make_org, make_partner


def test_full_agent_administers_on_behalf_and_it_is_audited(partner: Partner, org: Org) -> None:
    relationship = accepted(partner, org)
    agent = partner.agent("full")
    agent_upn = agent.get("/me").json()["user_principal_name"]
    created = agent.post(
        f"{org.base}/users",
        {"user_principal_name": f"new@{org.domain}", "display_name": "New Hire"},
        expect=201,
    ).json()
    agent.post(f"{org.base}/users/{created['id']}/reset-password", expect=200)
    agent.post(
        f"{org.base}/service-requests", {"title": "Mailbox", "description": "Help"}, expect=201
    )
    events = org.admin.get(f"{org.base}/audit-events?actor={agent_upn}").json()["items"]
    assert [e["action"] for e in events] == [
        "service_request.create",
        "user.reset_password",
        "user.create",
    ]
    for event in events:
        assert event["partner_tenant_id"] == partner.org.tenant_id
        assert event["relationship_id"] == relationship["id"]
        assert event["actor"]["tenant_id"] == partner.org.tenant_id
    seen = partner.admin.get("/partner/audit-events").json()["items"]
    assert {"user.create", "user.reset_password"} <= {e["action"] for e in seen}
    assert all(e["partner_tenant_id"] == partner.org.tenant_id for e in seen)


def test_agents_need_mfa(partner: Partner, org: Org) -> None:
    accepted(partner, org)
    agent = partner.agent("full", mfa=False)
    refused = agent.get(f"{org.base}/users", expect=403)
    assert "multi-factor authentication" in refused.json()["detail"]


def test_limited_agent_resets_only_non_admin_passwords(partner: Partner, org: Org) -> None:
    accepted(partner, org)
    limited = partner.agent("limited")
    plain = org.create_user()
    limited.post(f"{org.base}/users/{plain}/reset-password", expect=200)
    refused = limited.post(f"{org.base}/users/{org.admin_id}/reset-password", expect=403)
    assert "only a Global Administrator may do this" in refused.json()["detail"]
    create = limited.post(
        f"{org.base}/users",
        {"user_principal_name": f"x@{org.domain}", "display_name": "X"},
        expect=403,
    )
    assert create.json()["detail"].startswith("Denied: users.create")
    assert "Password Administrator" in create.json()["detail"]


def test_delegation_exclusions(partner: Partner, org: Org) -> None:
    relationship = accepted(partner, org)
    agent = partner.agent("full")
    purchase = agent.post(
        f"{org.base}/subscriptions", {"sku_id": "business_standard", "seats": 1}, expect=403
    )
    assert "never available through delegated administration" in purchase.json()["detail"]
    agent.get(f"{org.base}/devices", expect=403)
    agent.post(f"{org.base}/devices", {"name": "D", "platform": "linux"}, expect=403)
    agent.delete(f"{org.base}/partner-relationships/{relationship['id']}", expect=403)
    agent.request("PUT", f"{org.base}/partner-policy", 403, json={"blocked_permissions": []})
    agent.get(f"{org.base}/partner-relationships", expect=200)  # reading is fine


def test_partner_policy_blocks_for_every_partner(partner: Partner, org: Org) -> None:
    accepted(partner, org)
    agent = partner.agent("full")
    org.admin.request(
        "PUT",
        f"{org.base}/partner-policy",
        200,
        json={"blocked_permissions": ["domains.add", "users.delete"]},
    )
    assert org.admin.get(f"{org.base}/partner-policy").json() == {
        "blocked_permissions": ["domains.add", "users.delete"],
        "allow_privileged_roles": False,
        "require_customer_approval_for_global_admin": False,
    }
    refused = agent.post(f"{org.base}/domains", {"name": "contoso-extra.example"}, expect=403)
    assert "partner policy blocks domains.add" in refused.json()["detail"]
    org.admin.post(f"{org.base}/domains", {"name": "contoso-extra.example"}, expect=201)
    org.admin.request(
        "PUT", f"{org.base}/partner-policy", 422, json={"blocked_permissions": ["nonsense"]}
    )


def test_removal_by_the_customer_is_immediate(partner: Partner, org: Org) -> None:
    relationship = accepted(partner, org)
    agent = partner.agent("full")
    agent.get(f"{org.base}/users", expect=200)
    org.admin.delete(f"{org.base}/partner-relationships/{relationship['id']}")
    agent.get(f"{org.base}/users", expect=404)
    assert org.admin.get(f"{org.base}/partner-relationships").json()["items"] == []
    assert partner.admin.get("/partner/customers").json()["items"] == []
    org.admin.delete(f"{org.base}/partner-relationships/{relationship['id']}", expect=409)
    ended = partner.admin.get(f"/partner/relationships/{relationship['id']}").json()
    assert (ended["status"], ended["terminated_by"]) == ("terminated", "customer")


def test_a_partner_cannot_touch_another_partners_relationship(
    client: TestClient, sessions, settings, clock, partner: Partner, org: Org
) -> None:
    rival = make_partner(client, sessions, settings, clock, "Litware")
    theirs = accepted(rival, org)
    partner.admin.post(f"/partner/relationships/{theirs['id']}/terminate", expect=404)
    partner.admin.get(f"/partner/relationships/{theirs['id']}", expect=404)
    accepted(partner, org)
    agent = partner.agent("full")
    agent.delete(f"{org.base}/partner-relationships/{theirs['id']}", expect=403)
    assert rival.admin.get(f"/partner/relationships/{theirs['id']}").json()["status"] == "active"
    ended = rival.admin.post(f"/partner/relationships/{theirs['id']}/terminate", expect=200).json()
    assert (ended["status"], ended["terminated_by"]) == ("terminated", "partner")


def test_agents_levels(partner: Partner, org: Org) -> None:
    accepted(partner, org)
    user_id = partner.org.create_user()
    assert partner.admin.get(f"/partner/agents/{user_id}").json()["access"] == "none"
    for level in ("limited", "full", "none"):
        body = partner.admin.request(
            "PUT", f"/partner/agents/{user_id}", 200, json={"access": level}
        ).json()
        assert body["access"] == level
    partner.admin.request("PUT", f"/partner/agents/{user_id}", 422, json={"access": "god"})
    partner.admin.get(f"/partner/agents/{org.admin_id}", expect=404)  # not the partner's user
    nobody = partner.agent("none")
    nobody.get(f"{org.base}/users", expect=404)
    assert nobody.get("/me").json()["is_partner_agent"] is False
    assert partner.agent("limited").get("/me").json()["is_partner_agent"] is True


def test_access_assignments_map_a_group_to_a_subset(partner: Partner, org: Org) -> None:
    relationship = accepted(
        partner,
        org,
        {"roles": ["user_administrator", "service_support_administrator"], "duration": "P60D"},
    )
    rid = relationship["id"]
    listed = partner.admin.get(f"/partner/relationships/{rid}/access-assignments").json()
    assert [a["roles"] for a in listed["items"]] == [
        ["user_administrator", "service_support_administrator"]
    ]
    group = partner.admin.post(f"{partner.org.base}/groups", {"name": "Tier 1"}, expect=201).json()
    base = f"/partner/relationships/{rid}/access-assignments"
    partner.admin.post(
        base, {"group_id": group["id"], "roles": ["global_administrator"]}, expect=422
    )
    assignment = partner.admin.post(
        base, {"group_id": group["id"], "roles": ["service_support_administrator"]}, expect=201
    ).json()
    partner.admin.post(base, {"group_id": group["id"], "roles": ["user_administrator"]}, expect=409)
    tier1 = partner.agent("none")
    me = tier1.get("/me").json()["id"]
    partner.admin.post(
        f"{partner.org.base}/groups/{group['id']}/members", {"user_id": me}, expect=201
    )
    tier1.post(f"{org.base}/service-requests", {"title": "T", "description": "D"}, expect=201)
    tier1.get(f"{org.base}/users", expect=403)
    partner.admin.delete(f"{base}/{assignment['id']}")
    tier1.get(f"{org.base}/service-requests", expect=404)


def test_patch_relationship_needs_if_match(partner: Partner, org: Org) -> None:
    relationship = accepted(
        partner, org, {"roles": ["global_reader"], "duration": "P90D", "auto_extend": True}
    )
    path = f"/partner/relationships/{relationship['id']}"
    read = partner.admin.get(path)
    tag = read.headers["etag"]
    partner.admin.patch(path, {"auto_extend": False}, expect=428)
    partner.admin.patch(path, {"auto_extend": False}, expect=412, headers={"If-Match": '"999"'})
    changed = partner.admin.patch(path, {"auto_extend": False}, headers={"If-Match": tag})
    assert changed.json()["auto_extend"] is False and changed.headers["etag"] != tag
    partner.admin.patch(path, {"auto_extend": False}, expect=412, headers={"If-Match": tag})
    # Turning it back on is the customer's call, never the partner's
    # (tests/partners/test_consented_terms.py has the attacks).
    refused = partner.admin.patch(
        path, {"auto_extend": True}, expect=403, headers={"If-Match": changed.headers["etag"]}
    )
    assert refused.json()["type"].endswith("customer-consent-needed")


def test_customer_access_explained(partner: Partner, org: Org) -> None:
    accepted(partner, org)
    limited = partner.agent("limited")
    explained = limited.get(f"/partner/customers/{org.tenant_id}/access").json()
    assert explained["path"] == "delegated" and explained["mfa_satisfied"] is True
    assert [g["role"] for g in explained["grants"]] == ["password_administrator"]
    assert "Helpdesk agents" in explained["grants"][0]["via"]
    assert "users.reset_password" in explained["permissions"]
    assert "users.create" not in explained["permissions"]
    stranger = make_org(org.client)
    limited.get(f"/partner/customers/{stranger.tenant_id}/access", expect=404)
