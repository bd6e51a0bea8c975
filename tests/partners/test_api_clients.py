"""Managing API clients (automation identities): a partner's clients in its groups, an
organisation's own clients with roles; who may manage them (member path only, by a person,
never on behalf), what they may be given, rotation, and the audit of every change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tenantry.access.roles import Role
from tests.conftest import Api, Org, Partner, accepted


def group_ids(org: Org, api: Api | None = None) -> dict[str, str]:
    """The organisation's groups by name."""
    items = (api or org.admin).get(f"{org.base}/groups?limit=200").json()["items"]
    return {g["name"]: g["id"] for g in items}


def partner_client(
    partner: Partner, groups: tuple[str, ...] = ("Helpdesk agents",), **body: Any
) -> dict:
    by_name = group_ids(partner.org)
    payload = {"name": f"App {len(by_name)}-{datetime.now(UTC).timestamp()}", **body}
    payload["group_ids"] = [by_name[g] for g in groups]
    return dict(partner.admin.post("/partner/api-clients", payload, expect=201).json())


def test_a_partner_client_is_made_listed_changed_and_deleted(partner: Partner) -> None:
    made = partner_client(partner, ("Helpdesk agents",), allowed_ips=["192.0.2.7", "2001:db8::/32"])
    assert made["client_id"].startswith("tnryc_")
    assert made["client_secret"].startswith("tnrysec_")
    assert made["kind"] == "partner" and made["credential"] == "secret"
    assert made["allowed_ips"] == ["192.0.2.7/32", "2001:db8::/32"]
    assert made["enabled"] and made["created_by_user_id"] == partner.org.admin_id
    listed = partner.admin.get("/partner/api-clients").json()["items"]
    assert [c["id"] for c in listed] == [made["id"]]
    assert "client_secret" not in listed[0]  # shown once
    one = partner.admin.get(f"/partner/api-clients/{made['id']}").json()
    assert one["group_ids"] == made["group_ids"]

    admins = group_ids(partner.org)["Admin agents"]
    changed = partner.admin.patch(
        f"/partner/api-clients/{made['id']}",
        {"name": "Renamed", "group_ids": [admins], "enabled": False, "expires_at": None},
    ).json()
    assert changed["name"] == "Renamed" and changed["group_ids"] == [admins]
    assert not changed["enabled"]
    partner.admin.delete(f"/partner/api-clients/{made['id']}")
    partner.admin.get(f"/partner/api-clients/{made['id']}", expect=404)

    actions = [
        e["action"]
        for e in partner.admin.get(f"{partner.org.base}/audit-events?action=api_client").json()[
            "items"
        ]
    ]
    assert actions == ["api_client.delete", "api_client.disable", "api_client.create"]


def test_a_tenant_client_holds_roles_but_never_global_administrator(org: Org) -> None:
    made = org.admin.post(
        f"{org.base}/api-clients",
        {"name": "HR sync", "roles": ["user_administrator", "global_reader"]},
        expect=201,
    ).json()
    assert made["kind"] == "tenant"
    assert made["roles"] == ["global_reader", "user_administrator"]
    for body, where in (
        ({"name": "Root", "roles": ["global_administrator"]}, "POST"),
        ({"roles": ["global_reader", "global_administrator"]}, "PATCH"),
    ):
        if where == "POST":
            refused = org.admin.post(f"{org.base}/api-clients", body, expect=422)
        else:
            refused = org.admin.patch(f"{org.base}/api-clients/{made['id']}", body, expect=422)
        problem = refused.json()
        assert problem["type"] == "urn:tenantry:problem:global-administrator-not-for-clients"
        assert "Global Administrator" in problem["detail"]
    assert org.admin.get(f"{org.base}/api-clients/{made['id']}").json()["roles"] == [
        "global_reader",
        "user_administrator",
    ]
    # A tenant client is not a partner client, and the other way round.
    org.admin.patch(f"{org.base}/api-clients/{made['id']}", {"group_ids": [made["id"]]}, expect=422)


def test_names_networks_keys_and_expiry_are_checked(org: Org) -> None:
    base = f"{org.base}/api-clients"
    org.admin.post(base, {"name": "One", "roles": ["global_reader"]}, expect=201)
    dup = org.admin.post(base, {"name": "One", "roles": ["global_reader"]}, expect=409)
    assert "already has an API client named 'One'" in dup.json()["detail"]
    bad_ip = org.admin.post(
        base, {"name": "Two", "roles": ["global_reader"], "allowed_ips": ["300.1.1.1"]}, expect=422
    )
    assert "not an IP address" in bad_ip.json()["detail"]
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    for when in (past, "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:00-01:00"):
        org.admin.post(
            base, {"name": "Two", "roles": ["global_reader"], "expires_at": when}, expect=422
        )
    for jwk in (
        {"kty": "oct", "k": "c2VjcmV0"},  # symmetric: not a public key
        {"kty": "RSA", "n": "abc"},  # malformed
        {"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "d": "d"},
    ):
        org.admin.post(
            base, {"name": "Three", "roles": ["global_reader"], "public_jwk": jwk}, expect=422
        )


def test_rotation_keeps_the_previous_secret_for_the_overlap(org: Org) -> None:
    made = org.admin.post(
        f"{org.base}/api-clients", {"name": "Rotating", "roles": ["global_reader"]}, expect=201
    ).json()
    rotated = org.admin.post(
        f"{org.base}/api-clients/{made['id']}/secret", {"overlap_seconds": 3600}, expect=200
    ).json()
    assert rotated["client_secret"] != made["client_secret"]
    until = datetime.fromisoformat(rotated["previous_secret_until"])
    assert timedelta(minutes=59) < until - datetime.now(UTC) <= timedelta(hours=1)
    default = org.admin.post(f"{org.base}/api-clients/{made['id']}/secret", expect=200).json()
    until = datetime.fromisoformat(default["previous_secret_until"])
    assert timedelta(hours=23) < until - datetime.now(UTC) <= timedelta(hours=24)
    events = org.admin.get(f"{org.base}/audit-events?action=api_client.rotate_secret").json()
    assert len(events["items"]) == 2
    for event in events["items"]:
        assert made["client_secret"] not in str(event) and "secret_hash" not in str(event)


def test_only_the_partners_own_administrators_manage_its_clients(
    partner: Partner, org: Org
) -> None:
    accepted(partner, org)
    made = partner_client(partner)
    # A Full agent (Global Administrator of customers, not of the partner) may not.
    agent = partner.agent("full")
    helpdesk = group_ids(partner.org)["Helpdesk agents"]
    for method, path, body in (
        ("POST", "/partner/api-clients", {"name": "Mine", "group_ids": [helpdesk]}),
        ("GET", "/partner/api-clients", None),
        ("PATCH", f"/partner/api-clients/{made['id']}", {"name": "Mine"}),
        ("POST", f"/partner/api-clients/{made['id']}/secret", {}),
        ("DELETE", f"/partner/api-clients/{made['id']}", None),
    ):
        refused = agent.request(method, path, 403, **({"json": body} if body else {}))
        assert "partner.manage" in refused.json()["detail"]
    # A partner's groups only: never a group of a customer, nor a distribution group.
    customer_group = group_ids(org)
    any_customer_group = next(iter(customer_group.values()), None)
    if any_customer_group:
        partner.admin.post(
            "/partner/api-clients",
            {"name": "Theirs", "group_ids": [any_customer_group]},
            expect=404,
        )
    mailing = partner.admin.post(
        f"{partner.org.base}/groups", {"name": "News", "kind": "distribution"}, expect=201
    ).json()
    partner.admin.post(
        "/partner/api-clients", {"name": "Mail", "group_ids": [mailing["id"]]}, expect=422
    )


def test_a_customer_never_sees_nor_manages_a_partners_clients(partner: Partner, org: Org) -> None:
    accepted(partner, org)
    made = partner_client(partner)
    # Not in the customer's list, not by id, not changeable: another tenant's client is 404.
    assert org.admin.get(f"{org.base}/api-clients").json()["items"] == []
    org.admin.get(f"{org.base}/api-clients/{made['id']}", expect=404)
    org.admin.patch(f"{org.base}/api-clients/{made['id']}", {"name": "Pwned"}, expect=404)
    org.admin.delete(f"{org.base}/api-clients/{made['id']}", expect=404)
    org.admin.get(f"{partner.org.base}/api-clients", expect=404)
    org.admin.patch(f"{partner.org.base}/api-clients/{made['id']}", {"name": "Pwned"}, expect=404)
    # Nor through the partner center: the customer is not a partner.
    org.admin.get(f"/partner/api-clients/{made['id']}", expect=403)
    assert partner.admin.get(f"/partner/api-clients/{made['id']}").json()["name"] == made["name"]


def test_a_partner_never_manages_a_customers_clients_on_behalf(partner: Partner, org: Org) -> None:
    accepted(partner, org)  # the classic offer: Full administration
    own = org.admin.post(
        f"{org.base}/api-clients", {"name": "Own", "roles": ["global_reader"]}, expect=201
    ).json()
    agent = partner.agent("full")
    refused = agent.post(
        f"{org.base}/api-clients", {"name": "Backdoor", "roles": ["user_administrator"]}, expect=403
    )
    assert "never on behalf" in refused.json()["detail"]
    agent.get(f"{org.base}/api-clients", expect=403)
    agent.patch(f"{org.base}/api-clients/{own['id']}", {"enabled": False}, expect=403)
    agent.post(f"{org.base}/api-clients/{own['id']}/secret", expect=403)
    agent.delete(f"{org.base}/api-clients/{own['id']}", expect=403)
    denied = org.admin.get(f"{org.base}/audit-events?outcome=denied").json()["items"]
    assert any("never on behalf" in e["details"].get("reason", "") for e in denied)


def test_nobody_mints_a_client_with_more_than_they_have(partner: Partner, org: Org) -> None:
    """A Helpdesk agent putting an app in *Admin agents*, the partner's User Administrator
    making an app at all, a customer's User Administrator making an app that would keep its
    power after it leaves: each refused, on the member path too."""
    accepted(partner, org)
    admins = group_ids(partner.org)["Admin agents"]
    limited = partner.agent("limited")
    refused = limited.post(
        "/partner/api-clients", {"name": "Up", "group_ids": [admins]}, expect=403
    )
    assert "partner.manage" in refused.json()["detail"]
    insider = partner.org.user_api(roles=(Role.USER_ADMINISTRATOR,))
    insider.post("/partner/api-clients", {"name": "Up", "group_ids": [admins]}, expect=403)
    insider.post(
        f"{partner.org.base}/api-clients",
        {"name": "Up", "roles": ["user_administrator"]},
        expect=403,
    )
    user_admin = org.user_api(roles=(Role.USER_ADMINISTRATOR,))
    refused = user_admin.post(
        f"{org.base}/api-clients", {"name": "Keep", "roles": ["user_administrator"]}, expect=403
    )
    assert refused.json()["detail"].startswith("Denied: roles.assign")
    for api in (partner.admin, org.admin):
        assert api.get(
            "/partner/api-clients" if api is partner.admin else f"{org.base}/api-clients"
        )
    assert partner.admin.get("/partner/api-clients").json()["items"] == []
    assert org.admin.get(f"{org.base}/api-clients").json()["items"] == []
