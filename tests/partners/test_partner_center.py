"""The partner's view: customers (searchable, paged, with status, end, health, licences,
open requests), one customer's dashboard, and Find and Assist."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import Api, Org, Partner, accepted, make_org


def _customer(client: TestClient, partner: Partner, name: str) -> Org:
    org = make_org(client, name)
    accepted(partner, org)
    return org


def test_customers_list_with_status_licences_and_requests(
    client: TestClient, partner: Partner
) -> None:
    contoso = _customer(client, partner, "Contoso")
    sub = contoso.admin.post(
        f"{contoso.base}/subscriptions", {"sku_id": "business_standard", "seats": 10}, expect=201
    ).json()
    contoso.admin.post(
        f"{contoso.base}/subscriptions/{sub['id']}/licenses",
        {"user_id": contoso.admin_id},
        expect=201,
    )
    contoso.admin.post(
        f"{contoso.base}/service-requests", {"title": "t", "description": "d"}, expect=201
    )
    items = partner.admin.get("/partner/customers").json()["items"]
    row = next(c for c in items if c["tenant_id"] == contoso.tenant_id)
    assert row["name"].startswith("Contoso") and row["default_domain"] == contoso.domain
    assert row["relationship_status"] == "active" and row["ends_at"]
    assert row["licenses"] == {"assigned": 1, "total": 10}
    assert row["open_service_requests"] == 1
    assert row["health"] in ("healthy", "degraded", "incident")


def test_customers_search_and_paging(client: TestClient, partner: Partner) -> None:
    orgs = [_customer(client, partner, f"Alpine {i}") for i in range(3)]
    _customer(client, partner, "Zephyr")
    found = partner.admin.get("/partner/customers?search=alpine&limit=2").json()
    names = [c["name"] for c in found["items"]]
    page2 = partner.admin.get(
        f"/partner/customers?search=alpine&limit=2&cursor={found['next_cursor']}"
    ).json()
    names += [c["name"] for c in page2["items"]]
    assert names == sorted(o.admin.get(o.base).json()["name"] for o in orgs)
    assert page2["next_cursor"] is None
    by_domain = partner.admin.get(f"/partner/customers?search={orgs[1].domain}").json()
    assert [c["tenant_id"] for c in by_domain["items"]] == [orgs[1].tenant_id]


def test_pending_customers_show_to_partner_admins_only(
    client: TestClient, partner: Partner
) -> None:
    org = make_org(client, "Pending")
    partner.offer({"customer_tenant_id": org.tenant_id, "roles": ["global_reader"]})
    name = org.admin.get(org.base).json()["name"]
    rows = partner.admin.get(f"/partner/customers?search={name}").json()["items"]
    assert [r["relationship_status"] for r in rows] == ["approval_pending"]
    # Consent before data: not even which domains it has.
    assert partner.admin.get(f"/partner/customers?search={org.domain}").json()["items"] == []
    agent = partner.agent("full")
    assert agent.get(f"/partner/customers?search={name}").json()["items"] == []


def test_dashboard(client: TestClient, partner: Partner, dns) -> None:
    org = _customer(client, partner, "Dash")
    org.admin.post(
        f"{org.base}/domains", {"name": f"dash-{org.domain.split('.')[0]}.example"}, expect=201
    )
    org.admin.post(
        f"{org.base}/service-requests", {"title": "Slow", "description": "d"}, expect=201
    )
    board = partner.admin.get(f"/partner/customers/{org.tenant_id}").json()
    assert board["customer"]["tenant_id"] == org.tenant_id
    assert board["contact"]["name"] == board["customer"]["name"]
    assert {d["status"] for d in board["domains"]} == {"verified", "unverified"}
    assert board["domains"][0]["capabilities"] == ["email"]
    assert [r["title"] for r in board["service_requests"]] == ["Slow"]
    assert len(board["health"]) == 4
    assert [r["status"] for r in board["relationships"]] == ["active"]
    stranger = make_org(client)
    partner.admin.get(f"/partner/customers/{stranger.tenant_id}", expect=404)


def test_find_and_assist(client: TestClient, partner: Partner) -> None:
    org = _customer(client, partner, "Lookup")
    for tenant in (org, outsider := make_org(client, "Outsider")):
        tenant.admin.post(
            f"{tenant.base}/users",
            {"user_principal_name": f"megan.bowen@{tenant.domain}", "display_name": "Megan Bowen"},
            expect=201,
        )
    agent = partner.agent("limited")  # Password Administrator: reads users, not domains

    def hits(q: str, who: Api = agent) -> list[tuple[str, str, str]]:
        items = who.get(f"/partner/lookup?q={q}").json()["items"]
        return [(h["tenant_id"], h["match_type"], h["match"]) for h in items]

    assert hits(org.domain) == []
    assert hits(org.domain, partner.agent("full")) == [(org.tenant_id, "domain", org.domain)]
    assert (org.tenant_id, "user", f"megan.bowen@{org.domain}") in hits("megan.bowen@")
    assert all(tid == org.tenant_id for tid, _, _ in hits("megan"))
    by_name = hits("megan b")  # display name prefix
    assert by_name and all(t == org.tenant_id for t, _, _ in by_name)
    assert (org.tenant_id, "tenant", org.admin.get(org.base).json()["name"]) in hits("lookup")
    assert hits(outsider.domain) == []
    agent.get("/partner/lookup?q=a", expect=422)
    assert partner.agent("none").get(f"/partner/lookup?q={org.domain}").json()["items"] == []
    outsider.admin.get(f"/partner/lookup?q={org.domain}", expect=403)
