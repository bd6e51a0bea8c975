"""Consent in customer groups (issue 14): a dynamic group's membership, for a caller, is only
what that caller's decision may read. Each test is the attack: learning a customer's
subscriptions through "holds SKU X" (or its negation, or a seat count, or health) without
subscriptions.read there."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Api, Org, Partner, accepted, make_org

HOLDS_X = {"condition": "skus", "skus": ["business_standard"]}


def _holder(client: TestClient, partner: Partner, name: str) -> Org:
    org = make_org(client, name)
    accepted(partner, org)  # classic: Admin agents full, Helpdesk agents password admin
    org.admin.post(
        f"{org.base}/subscriptions", {"sku_id": "business_standard", "seats": 5}, expect=201
    )
    return org


def _group(partner: Partner, name: str, rule: dict[str, Any]) -> str:
    body = {"name": name, "rule": rule}
    return str(partner.admin.post("/partner/customer-groups", body, expect=201).json()["id"])


def _seen(api: Api, gid: str) -> set[str]:
    by_filter = {r["tenant_id"] for r in api.get(f"/partner/customers?group={gid}").json()["items"]}
    members = api.get(f"/partner/customer-groups/{gid}/customers").json()["items"]
    assert {m["tenant_id"] for m in members} == by_filter
    return by_filter


def test_an_agent_without_subscriptions_read_does_not_see_who_holds_a_sku(
    client: TestClient, partner: Partner
) -> None:
    c = _holder(client, partner, "Holder")
    holds = _group(partner, "Holds X", HOLDS_X)
    lacks = _group(partner, "Lacks X", {"not": HOLDS_X})
    seats = _group(
        partner, "Seats", {"condition": "seats", "measure": "total", "op": "ge", "value": 1}
    )
    no_seats = _group(
        partner, "No seats", {"condition": "seats", "measure": "total", "op": "eq", "value": 0}
    )
    full = partner.agent("full")
    assert _seen(full, holds) == {c.tenant_id} == _seen(full, seats)
    assert _seen(full, lacks) == set() == _seen(full, no_seats)
    helpdesk = partner.agent("limited")  # Password Administrator: no subscriptions.read
    assert c.tenant_id in {
        r["tenant_id"] for r in helpdesk.get("/partner/customers").json()["items"]
    }
    for gid in (holds, lacks, seats, no_seats):
        assert _seen(helpdesk, gid) == set(), gid
    # "Everyone except the holders" doesn't reveal them by leaving them out either... nor by
    # keeping them in: the exception is only applied where it is readable, so C stays listed.
    rest = helpdesk.get(f"/partner/customers?except_group={holds}").json()["items"]
    assert c.tenant_id in {r["tenant_id"] for r in rest}


def test_a_partner_admin_sees_a_holder_only_where_it_may_read_subscriptions(
    client: TestClient, partner: Partner
) -> None:
    open_ = _holder(client, partner, "Open")
    guarded = _holder(client, partner, "Guarded")
    guarded.admin.request(
        "PUT",
        f"{guarded.base}/partner-policy",
        200,
        json={"blocked_permissions": ["subscriptions.read"], "allow_privileged_roles": False},
    )
    holds = _group(partner, "Holds X", HOLDS_X)
    lacks = _group(partner, "Lacks X", {"not": HOLDS_X})
    assert _seen(partner.admin, holds) == {open_.tenant_id}
    assert _seen(partner.admin, lacks) == set()
    preview = partner.admin.post("/partner/customer-groups/preview", {"rule": HOLDS_X}).json()
    assert preview["count"] == 1
    # Own data still selects it: the relationship and the partner's custom fields.
    assert _seen(partner.admin, _group(partner, "Live", {"condition": "auto_extend", "is": False}))
    mixed = {"any": [HOLDS_X, {"condition": "relationship_status", "in": ["active"]}]}
    assert _seen(partner.admin, _group(partner, "Mixed", mixed)) == {
        open_.tenant_id,
        guarded.tenant_id,
    }


def test_health_needs_health_and_subscriptions(client: TestClient, partner: Partner) -> None:
    """Health per customer tells which services it holds: a Helpdesk agent (health.read, no
    subscriptions.read) never sees a customer in a health group, affected or not."""
    _holder(client, partner, "Health")
    affected = _group(partner, "Affected", {"not": {"condition": "health"}})
    full = partner.agent("full")
    helpdesk = partner.agent("limited")
    assert len(_seen(full, affected)) == 1  # every service is healthy here
    assert _seen(helpdesk, affected) == set()


def test_a_relationship_that_ended_or_never_went_live_gives_nothing(
    client: TestClient, partner: Partner
) -> None:
    gone = _holder(client, partner, "Gone")
    pending = make_org(client, "Pending")
    partner.offer({"customer_tenant_id": pending.tenant_id, "roles": ["global_reader"]})
    holds = _group(partner, "Holds X", HOLDS_X)
    lacks = _group(partner, "Lacks X", {"not": HOLDS_X})
    rel = gone.admin.get(f"{gone.base}/partner-relationships").json()["items"][0]
    gone.admin.delete(f"{gone.base}/partner-relationships/{rel['id']}")
    assert _seen(partner.admin, holds) == set()
    assert _seen(partner.admin, lacks) == set()  # pending: no consent, nothing to read
    chosen = partner.admin.post(
        "/partner/customer-groups", {"name": "Chosen", "tenant_ids": [gone.tenant_id]}
    ).json()
    assert _seen(partner.admin, chosen["id"]) == set()  # no longer in the customer list
