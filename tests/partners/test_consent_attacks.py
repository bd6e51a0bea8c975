"""Issue 9, written as the attacks a security review made: each would have succeeded before
the consent rules (docs/architecture.md §2, "No path to power without consent") and is refused now.

Privileged groups, privileged targets, no standing power minted on behalf, and a partner's
partner programme never delegated.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tenantry.access.roles import Role
from tenantry.core.config import Settings
from tenantry.models import OutboxMessage, Relationship
from tests.conftest import (
    PASSWORD,
    Api,
    FakeClock,
    Org,
    Partner,
    accepted,
    enrol_mfa,
    make_org,
    make_partner,
    sign_in,
)


def _groups(api: Api, tenant_id: str) -> dict[str, dict[str, Any]]:
    items = api.get(f"/tenants/{tenant_id}/groups?limit=200").json()["items"]
    return {g["name"]: g for g in items}


def _new_user(api: Api, org: Org, name: str) -> str:
    body = {
        "user_principal_name": f"{name}@{org.domain}",
        "display_name": name.title(),
        "password": PASSWORD,
        "must_change_password": False,
    }
    return str(api.post(f"{org.base}/users", body, expect=201).json()["id"])


def test_chained_takeover_across_partners_is_refused(
    client: Any, sessions: sessionmaker[Session], settings: Settings, clock: FakeClock
) -> None:
    """Finding 1: Litware (a partner, Adatum's partner) lets Fabrikam be its User
    Administrator. Fabrikam's agent makes a user in Litware and tries to put it in Litware's
    agent groups to reach Adatum, which never consented to Fabrikam."""
    fabrikam = make_partner(client, sessions, settings, clock, "Fabrikam")
    litware = make_partner(client, sessions, settings, clock, "Litware")
    adatum = make_org(client, "Adatum")
    accepted(litware, adatum)
    accepted(fabrikam, litware.org, {"roles": ["user_administrator"]})
    agent = fabrikam.agent("full")
    mole = _new_user(agent, litware.org, "mole")
    groups = _groups(litware.admin, litware.org.tenant_id)
    for name in ("Admin agents", "Helpdesk agents"):
        gid = groups[name]["id"]
        refused = agent.post(
            f"{litware.org.base}/groups/{gid}/members", {"user_id": mole}, expect=403
        )
        assert "partner agent group" in refused.json()["detail"]
        agent.patch(f"{litware.org.base}/groups/{gid}", {"name": "Renamed"}, expect=403)
        agent.delete(f"{litware.org.base}/groups/{gid}", expect=403)
    # The mole, signed in with a factor of its own, has no way into Adatum.
    mole_api = sign_in(client, f"mole@{litware.org.domain}")
    enrol_mfa(mole_api, clock)
    mole_api.get(f"{adatum.base}/users", expect=404)
    assert mole_api.get("/me").json()["is_partner_agent"] is False
    # The refusals are in the log of the tenant they concern.
    denied = litware.admin.get(f"{litware.org.base}/audit-events?action=access.denied").json()
    assert any(e["partner_tenant_id"] == fabrikam.org.tenant_id for e in denied["items"])


def test_user_administrator_inside_a_partner_cannot_make_itself_an_agent(
    partner: Partner, org: Org
) -> None:
    """Finding 1, inside one partner: a User Administrator added itself to *Admin agents*
    and reached every customer."""
    accepted(partner, org)
    insider = partner.org.user_api((Role.USER_ADMINISTRATOR,))
    me = insider.get("/me").json()["id"]
    enrol_mfa(insider, partner.clock)
    groups = _groups(insider, partner.org.tenant_id)
    for name in ("Admin agents", "Helpdesk agents"):
        refused = insider.post(
            f"{partner.org.base}/groups/{groups[name]['id']}/members",
            {"user_id": me},
            expect=403,
        )
        assert "roles.assign" in refused.json()["detail"]
    # Nor through a group of its own that an access assignment names.
    own = insider.post(f"{partner.org.base}/groups", {"name": "Side door"}, expect=201).json()
    relationship = partner.admin.get("/partner/relationships").json()["items"][0]
    partner.admin.post(
        f"/partner/relationships/{relationship['id']}/access-assignments",
        {"group_id": own["id"], "roles": ["password_administrator"]},
        expect=201,
    )
    insider.post(f"{partner.org.base}/groups/{own['id']}/members", {"user_id": me}, expect=403)
    insider.get(f"{org.base}/users", expect=404)


def test_password_administrator_of_a_partner_cannot_take_over_a_full_agent(
    partner: Partner, org: Org
) -> None:
    """Finding 2: agents hold no admin role at home, so their password counted as
    unprivileged."""
    accepted(partner, org)
    full = partner.agent("full")
    full_id = full.get("/me").json()["id"]
    for role in (Role.PASSWORD_ADMINISTRATOR, Role.USER_ADMINISTRATOR):
        helpdesk = partner.org.user_api((role,))
        refused = helpdesk.post(f"{partner.org.base}/users/{full_id}/reset-password", expect=403)
        assert "administers the partner's customers" in refused.json()["detail"]
        helpdesk.patch(f"{partner.org.base}/users/{full_id}", {"enabled": False}, expect=403)
    full.get(f"{org.base}/users", expect=200)


def test_no_standing_power_minted_on_behalf(partner: Partner, org: Org) -> None:
    """Finding 6: a Full agent gave Global Administrator to a user it created, signed in as
    it and then changed the partner policy, removed another partner and read devices."""
    accepted(partner, org)
    agent = partner.agent("full")
    puppet = _new_user(agent, org, "puppet")
    for role in ("global_administrator", "user_administrator", "security_reader"):
        refused = agent.post(
            f"{org.base}/role-assignments", {"role": role, "user_id": puppet}, expect=403
        )
        assert "partner policy can allow it" in refused.json()["detail"]
    group = agent.post(f"{org.base}/groups", {"name": "Puppets"}, expect=201).json()
    agent.post(
        f"{org.base}/role-assignments",
        {"role": "global_administrator", "group_id": group["id"]},
        expect=403,
    )
    # An existing role-holding group of the customer can't be joined on behalf either.
    admins = org.admin.post(f"{org.base}/groups", {"name": "Admins"}, expect=201).json()
    org.admin.post(
        f"{org.base}/role-assignments",
        {"role": "global_administrator", "group_id": admins["id"]},
        expect=201,
    )
    refused = agent.post(
        f"{org.base}/groups/{admins['id']}/members", {"user_id": puppet}, expect=403
    )
    assert "partner policy does not let partners give admin roles" in refused.json()["detail"]
    agent.patch(f"{org.base}/groups/{admins['id']}", {"name": "Ours"}, expect=403)
    # The unprivileged role is still fine: it gives no power over admins.
    agent.post(
        f"{org.base}/role-assignments",
        {"role": "password_administrator", "user_id": puppet},
        expect=201,
    )
    puppet_api = sign_in(org.client, f"puppet@{org.domain}")
    puppet_api.get(f"{org.base}/devices", expect=403)
    puppet_api.request("PUT", f"{org.base}/partner-policy", 403, json={})


def test_the_customer_can_opt_in_to_admin_roles_given_by_partners(
    partner: Partner, org: Org
) -> None:
    accepted(partner, org)
    agent = partner.agent("full")
    puppet = _new_user(agent, org, "helper")
    org.admin.request(
        "PUT", f"{org.base}/partner-policy", 200, json={"allow_privileged_roles": True}
    )
    agent.post(
        f"{org.base}/role-assignments",
        {"role": "user_administrator", "user_id": puppet},
        expect=201,
    )
    # Opting in never opens a partner's own agent groups: see the chained attack above.
    assert org.admin.get(f"{org.base}/partner-policy").json()["allow_privileged_roles"] is True


def test_a_limited_agent_never_gets_partner_manage_and_full_agents_neither(
    client: Any, sessions: sessionmaker[Session], settings: Settings, clock: FakeClock
) -> None:
    """Finding 9: partner.manage appeared in delegated grants (Litware made Fabrikam its
    Global Administrator)."""
    fabrikam = make_partner(client, sessions, settings, clock, "Fabrikam")
    litware = make_partner(client, sessions, settings, clock, "Litware")
    accepted(fabrikam, litware.org)
    agent = fabrikam.agent("full")
    access = agent.get(f"/partner/customers/{litware.org.tenant_id}/access").json()
    assert "partner.manage" not in access["permissions"]
    assert all("partner.manage" not in g["permissions"] for g in access["grants"])
    assert "global_administrator" in {g["role"] for g in access["grants"]}


def test_a_delegated_user_administrator_cannot_rename_a_role_holding_group(
    partner: Partner, org: Org
) -> None:
    accepted(partner, org, {"roles": ["user_administrator"]})
    helpers = org.admin.post(f"{org.base}/groups", {"name": "Readers"}, expect=201).json()
    org.admin.post(
        f"{org.base}/role-assignments",
        {"role": "security_reader", "group_id": helpers["id"]},
        expect=201,
    )
    agent = partner.agent("full")
    refused = agent.patch(f"{org.base}/groups/{helpers['id']}", {"name": "Mine"}, expect=403)
    assert "holds an admin role" in refused.json()["detail"]
    agent.delete(f"{org.base}/groups/{helpers['id']}", expect=403)
    plain = agent.post(f"{org.base}/groups", {"name": "Plain"}, expect=201).json()
    agent.patch(f"{org.base}/groups/{plain['id']}", {"name": "Still plain"}, expect=200)


def test_agent_levels_follow_the_group_kind_not_its_name(partner: Partner, org: Org) -> None:
    """Finding 9: agent levels followed group names, so a group *named* Admin agents made
    Full agents."""
    accepted(partner, org)
    groups = _groups(partner.admin, partner.org.tenant_id)
    partner.admin.patch(
        f"{partner.org.base}/groups/{groups['Admin agents']['id']}", {"name": "Tier 3"}
    )
    decoy = partner.admin.post(
        f"{partner.org.base}/groups", {"name": "Admin agents"}, expect=201
    ).json()
    impostor = partner.org.create_user()
    partner.admin.post(
        f"{partner.org.base}/groups/{decoy['id']}/members", {"user_id": impostor}, expect=201
    )
    assert partner.admin.get(f"/partner/agents/{impostor}").json()["access"] == "none"
    impostor_api = sign_in(partner.org.client, partner.org.users[impostor])
    enrol_mfa(impostor_api, partner.clock)
    impostor_api.get(f"{org.base}/users", expect=404)
    # The renamed group is still the Full agents' group.
    full = partner.agent("full")
    full.get(f"{org.base}/users", expect=200)
    tier3 = partner.admin.get(f"{partner.org.base}/groups/{groups['Admin agents']['id']}")
    assert tier3.json()["name"] == "Tier 3"
    members = partner.admin.get(
        f"{partner.org.base}/groups/{groups['Admin agents']['id']}/members"
    ).json()["items"]
    assert full.get("/me").json()["id"] in {m["id"] for m in members}
    # An agent group can't be deleted (agents are set to None instead).
    partner.admin.delete(f"{partner.org.base}/groups/{groups['Admin agents']['id']}", expect=409)


def test_a_partner_keeps_a_global_administrator_when_agents_change(partner: Partner) -> None:
    """Finding 9: PUT /partner/agents/{self} could drop the partner's last Global
    Administrator (when Global Administrator came through *Admin agents*)."""
    admin_agents = _groups(partner.admin, partner.org.tenant_id)["Admin agents"]["id"]
    partner.admin.post(
        f"{partner.org.base}/role-assignments",
        {"role": "global_administrator", "group_id": admin_agents},
        expect=201,
    )
    direct = partner.admin.get(
        f"{partner.org.base}/role-assignments?user_id={partner.org.admin_id}"
    ).json()["items"]
    partner.admin.delete(f"{partner.org.base}/role-assignments/{direct[0]['id']}")
    refused = partner.admin.request(
        "PUT", f"/partner/agents/{partner.org.admin_id}", 409, json={"access": "none"}
    )
    assert refused.json()["detail"].startswith("This would leave the organisation without")


def test_resetting_a_privileged_password_on_behalf_keeps_the_factor_and_tells_the_admins(
    client: Any, sessions: sessionmaker[Session], settings: Settings, clock: FakeClock
) -> None:
    """No standing power minted on behalf: a partner that resets the password of a
    customer's admin (here: Litware's Full agent) gets nothing without its second factor."""
    fabrikam = make_partner(client, sessions, settings, clock, "Fabrikam")
    litware = make_partner(client, sessions, settings, clock, "Litware")
    accepted(fabrikam, litware.org)
    agent = fabrikam.agent("full")
    without_factor = litware.agent("full", mfa=False).get("/me").json()
    refused = agent.post(
        f"{litware.org.base}/users/{without_factor['id']}/reset-password", expect=403
    )
    assert "has no second factor" in refused.json()["detail"]
    with_factor = litware.agent("full").get("/me").json()
    temporary = agent.post(
        f"{litware.org.base}/users/{with_factor['id']}/reset-password", expect=200
    ).json()["temporary_password"]
    stolen = Api(client).post(
        "/auth/token",
        {"username": with_factor["user_principal_name"], "password": temporary},
        expect=401,
    )
    assert "two-step verification" in stolen.json()["detail"]
    with sessions() as session:
        told = session.scalars(
            select(OutboxMessage.recipient).where(
                OutboxMessage.tenant_id == uuid.UUID(litware.org.tenant_id),
                OutboxMessage.subject.contains(with_factor["user_principal_name"]),
            )
        ).all()
    assert litware.org.admin_upn in told
    assert with_factor["user_principal_name"] not in told


def test_a_partner_cannot_take_another_partners_name(
    client: Any, sessions: sessionmaker[Session], settings: Settings, clock: FakeClock
) -> None:
    """Finding 7: a partner renamed itself to another partner's name, and the offer page and
    the customer's partner list showed it."""
    fabrikam = make_partner(client, sessions, settings, clock, "Fabrikam")
    litware = make_partner(client, sessions, settings, clock, "Litware")
    taken = fabrikam.admin.get(fabrikam.org.base).json()["name"]
    for variant in (taken, taken.upper(), f"  {taken.lower()} "):
        refused = litware.admin.patch(litware.org.base, {"name": variant}, expect=409)
        assert "partner names are unique" in refused.json()["detail"]
    assert litware.admin.get(litware.org.base).json()["name"] != taken
    # A customer (not a partner) may share a partner's name: it sends no offers.
    customer = make_org(client, "Customer")
    customer.admin.patch(customer.base, {"name": taken.upper()}, expect=200)


def test_one_open_request_per_partner_and_customer(partner: Partner, org: Org) -> None:
    """Finding 9: any partner could file hundreds of pending requests to one customer."""
    partner.offer({"customer_tenant_id": org.tenant_id, "roles": ["global_reader"]})
    refused = partner.offer(
        {"customer_tenant_id": org.tenant_id, "roles": ["global_reader"]}, expect=409
    )
    assert refused["detail"].startswith("There is already a request waiting")
    pending = org.admin.get(f"{org.base}/partner-relationships").json()["items"]
    assert [r["status"] for r in pending] == ["approval_pending"]


def test_twenty_parallel_requests_make_one_open_request(
    partner: Partner, org: Org, sessions: sessionmaker[Session]
) -> None:
    """The one-open-request rule is a check, then a write: on PostgreSQL twenty requests at
    once all pass the check, and only the unique index keeps it to one."""
    body = {"customer_tenant_id": org.tenant_id, "roles": ["global_reader"]}
    for round_ in range(3):
        with ThreadPoolExecutor(max_workers=20) as pool:
            codes = list(
                pool.map(
                    lambda _: partner.admin.post("/partner/offers", body).status_code, range(20)
                )
            )
        with sessions() as session:
            pending = session.scalars(
                select(Relationship.status).where(
                    Relationship.partner_tenant_id == uuid.UUID(partner.org.tenant_id),
                    Relationship.customer_tenant_id == uuid.UUID(org.tenant_id),
                    Relationship.status == "approval_pending",
                )
            ).all()
        assert len(pending) == 1
        # The first round makes the request; the later ones find it waiting.
        assert sorted(codes) == ([201] if round_ == 0 else []) + [409] * (20 - (round_ == 0))


def test_the_opt_in_never_hands_over_a_partners_programme(
    client: Any, sessions: sessionmaker[Session], settings: Settings, clock: FakeClock
) -> None:
    """Found by the escalation search (tests/security): Litware (a partner, Adatum's partner)
    let partners give admin roles; Fabrikam's agent made a user in Litware Global
    Administrator, signed in as it, made itself Litware's Full agent and administered Adatum,
    which never consented to Fabrikam."""
    fabrikam = make_partner(client, sessions, settings, clock, "Fabrikam")
    litware = make_partner(client, sessions, settings, clock, "Litware")
    adatum = make_org(client, "Adatum")
    accepted(litware, adatum)
    accepted(fabrikam, litware.org)
    litware.admin.request(
        "PUT", f"{litware.org.base}/partner-policy", 200, json={"allow_privileged_roles": True}
    )
    agent = fabrikam.agent("full")
    puppet = _new_user(agent, litware.org, "puppet")
    refused = agent.post(
        f"{litware.org.base}/role-assignments",
        {"role": "global_administrator", "user_id": puppet},
        expect=403,
    )
    assert "partner programme" in refused.json()["detail"]
    # Nor by joining a group that holds Global Administrator there.
    admins = litware.admin.post(f"{litware.org.base}/groups", {"name": "Admins"}, expect=201)
    gid = admins.json()["id"]
    litware.admin.post(
        f"{litware.org.base}/role-assignments",
        {"role": "global_administrator", "group_id": gid},
        expect=201,
    )
    refused = agent.post(
        f"{litware.org.base}/groups/{gid}/members", {"user_id": puppet}, expect=403
    )
    assert "partner programme" in refused.json()["detail"]
    # The opt-in still works for roles that don't run the programme.
    agent.post(
        f"{litware.org.base}/role-assignments",
        {"role": "user_administrator", "user_id": puppet},
        expect=201,
    )
    puppet_api = sign_in(client, f"puppet@{litware.org.domain}")
    puppet_api.request("PUT", f"/partner/agents/{puppet}", 403, json={"access": "full"})
    enrol_mfa(puppet_api, clock)
    puppet_api.get(f"{adatum.base}/users", expect=404)
    # In a customer that is not a partner, the opt-in gives Global Administrator as before.
    contoso = make_org(client, "Contoso")
    accepted(fabrikam, contoso)
    contoso.admin.request(
        "PUT", f"{contoso.base}/partner-policy", 200, json={"allow_privileged_roles": True}
    )
    helper = _new_user(agent, contoso, "helper")
    agent.post(
        f"{contoso.base}/role-assignments",
        {"role": "global_administrator", "user_id": helper},
        expect=201,
    )


def test_an_agent_on_behalf_sees_only_its_own_partners_part_of_the_programme(
    client: Any, sessions: sessionmaker[Session], settings: Settings, clock: FakeClock, org: Org
) -> None:
    """A customer with two partners: partner A's agent, reading the customer's partner
    relationships, activations, blocks and former partners on behalf, learns nothing of
    partner B (who it is, its people, its roles, its justifications) — a compromised partner
    must not be a map of its customers' other partners. The customer's own admin sees both."""
    a = make_partner(client, sessions, settings, clock, "Alpha Partners")
    b = make_partner(client, sessions, settings, clock, "Beta Partners")
    gone = make_partner(client, sessions, settings, clock, "Gamma Partners")
    mine = accepted(a, org)
    theirs = accepted(b, org)
    ended = accepted(gone, org)
    org.admin.delete(f"/tenants/{org.tenant_id}/partner-relationships/{ended['id']}", expect=204)
    base = f"/tenants/{org.tenant_id}"
    org.admin.request("PUT", f"{base}/partner-blocks/{gone.org.tenant_id}", 200)

    def partner_ids(api: Api, path: str) -> set[str]:
        items = api.get(path).json()["items"]
        return {item.get("partner_tenant_id") or item["partner"]["tenant_id"] for item in items}

    both = {a.org.tenant_id, b.org.tenant_id}
    assert partner_ids(org.admin, f"{base}/partner-relationships") == both
    assert partner_ids(a.admin, f"{base}/partner-relationships") == {a.org.tenant_id}
    a.admin.get(f"{base}/partner-relationships/{theirs['id']}", expect=404)
    assert a.admin.get(f"{base}/partner-relationships/{mine['id']}").status_code == 200
    assert partner_ids(org.admin, f"{base}/partner-blocks") == {gone.org.tenant_id}
    assert partner_ids(a.admin, f"{base}/partner-blocks") == set()
    assert partner_ids(a.admin, f"{base}/partner-activations") <= {a.org.tenant_id}
