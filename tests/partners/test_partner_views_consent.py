"""Consent before data, one rule with two uses (issue 9, findings 3 and 5; the partner audit
view's IP addresses): each test is the attack, run against the partner views."""

from __future__ import annotations

from typing import Any

import pyotp
from fastapi.testclient import TestClient

from tests.conftest import Api, Org, Partner, accepted, enrol_mfa, make_org, sign_in

SECTIONS = ("contact", "health", "service_requests", "subscriptions", "domains")
FIGURES = ("default_domain", "health", "licenses", "open_service_requests")


def _with_data(org: Org) -> Org:
    """A customer with something to leak: a subscription, a service request, contact details."""
    org.admin.post(
        f"{org.base}/subscriptions", {"sku_id": "business_standard", "seats": 5}, expect=201
    )
    org.admin.post(
        f"{org.base}/service-requests", {"title": "Secret", "description": "d"}, expect=201
    )
    org.admin.post(
        f"{org.base}/users",
        {"user_principal_name": f"megan.bowen@{org.domain}", "display_name": "Megan Bowen"},
        expect=201,
    )
    return org


def _row(api: Api, org: Org) -> dict[str, Any]:
    name = org.admin.get(org.base).json()["name"]
    rows = api.get("/partner/customers", params={"search": name}).json()["items"]
    (row,) = [r for r in rows if r["tenant_id"] == org.tenant_id]
    return dict(row)


def _name_and_status_only(board: dict[str, Any], status: str) -> None:
    assert board["customer"]["relationship_status"] == status
    for section in SECTIONS:
        assert board[section] is None, section
        assert board["not_visible"][section]
    for figure in FIGURES:
        assert board["customer"][figure] is None, figure


def _hits(api: Api, q: str) -> set[tuple[str, str]]:
    return {
        (h["match_type"], h["match"]) for h in api.get(f"/partner/lookup?q={q}").json()["items"]
    }


def test_a_request_aimed_at_any_tenant_shows_its_name_and_status_only(
    client: TestClient, partner: Partner
) -> None:
    victim = _with_data(make_org(client, "Victim"))
    partner.offer({"customer_tenant_id": victim.tenant_id, "roles": ["global_reader"]})
    board = partner.admin.get(f"/partner/customers/{victim.tenant_id}").json()
    _name_and_status_only(board, "approval_pending")
    assert board["customer"]["name"] == victim.admin.get(victim.base).json()["name"]
    row = _row(partner.admin, victim)
    assert row["relationship_status"] == "approval_pending"
    assert all(row[f] is None for f in FIGURES)
    assert (
        _hits(partner.admin, "megan.bowen@") & {("user", f"megan.bowen@{victim.domain}")} == set()
    )
    assert _hits(partner.admin, victim.domain) == set()
    page = client.get(
        f"/partner/customers/{victim.tenant_id}",
        headers={"Authorization": f"Bearer {partner.admin.token}"},
    )
    assert "Secret" not in page.text


def test_a_removed_partner_sees_nothing_but_name_and_status(
    client: TestClient, partner: Partner
) -> None:
    customer = _with_data(make_org(client, "Leaving"))
    relationship = accepted(partner, customer)
    assert partner.admin.get(f"/partner/customers/{customer.tenant_id}").json()["domains"]
    customer.admin.delete(f"{customer.base}/partner-relationships/{relationship['id']}")
    partner.admin.get(f"/partner/customers/{customer.tenant_id}", expect=404)
    # ... and a fresh request right after the removal gives no more than its status.
    response = partner.admin.post(
        "/partner/offers",
        {"customer_tenant_id": customer.tenant_id, "roles": ["global_reader"]},
    )
    if response.status_code == 201:
        board = partner.admin.get(f"/partner/customers/{customer.tenant_id}").json()
        _name_and_status_only(board, "approval_pending")
    else:
        partner.admin.get(f"/partner/customers/{customer.tenant_id}", expect=404)


def test_past_ends_at_is_not_live_before_the_sweep(client: TestClient, partner: Partner) -> None:
    customer = _with_data(make_org(client, "Ended"))
    terms = {"roles": ["global_reader"], "duration": "P30D", "auto_extend": True}
    accepted(partner, customer, terms)  # auto-extend keeps nothing alive past ends_at
    user_id = partner.org.create_user()
    partner.admin.request("PUT", f"/partner/agents/{user_id}", 200, json={"access": "full"})
    upn = partner.org.users[user_id]
    secret = enrol_mfa(sign_in(client, upn), partner.clock)
    partner.clock.advance(days=31)  # before any sweep has run
    agent = sign_in(client, upn, totp_code=pyotp.TOTP(secret).at(partner.clock()))
    agent.get(f"/partner/customers/{customer.tenant_id}", expect=404)  # not administrable
    agent.get(f"/partner/customers/{customer.tenant_id}/access", expect=404)
    assert _hits(agent, customer.domain) == set()


def test_the_partner_policy_hides_what_it_blocks(client: TestClient, partner: Partner) -> None:
    customer = _with_data(make_org(client, "Guarded"))
    accepted(partner, customer)
    blocked = ["users.read", "subscriptions.read", "domains.read", "service_requests.read"]
    customer.admin.request(
        "PUT",
        f"{customer.base}/partner-policy",
        200,
        json={"blocked_permissions": blocked, "allow_privileged_roles": False},
    )
    board = partner.admin.get(f"/partner/customers/{customer.tenant_id}").json()
    for section in ("subscriptions", "domains", "service_requests"):
        assert board[section] is None and "partner policy" in board["not_visible"][section]
    assert board["contact"] is not None and board["health"] is not None
    row = _row(partner.admin, customer)
    assert (row["default_domain"], row["licenses"], row["open_service_requests"]) == (
        None,
        None,
        None,
    )
    assert row["health"] is not None
    agent = partner.agent("full")
    assert _hits(agent, customer.domain) == set()
    assert _hits(agent, "megan.bowen@") & {("user", f"megan.bowen@{customer.domain}")} == set()


def test_a_limited_agent_sees_what_password_administrator_reads(
    client: TestClient, partner: Partner
) -> None:
    customer = _with_data(make_org(client, "Helped"))
    accepted(partner, customer)  # classic: Helpdesk agents are Password Administrators
    limited = partner.agent("limited")
    board = limited.get(f"/partner/customers/{customer.tenant_id}").json()
    assert board["subscriptions"] is None and board["domains"] is None
    assert [r["title"] for r in board["service_requests"]] == ["Secret"]
    row = _row(limited, customer)
    assert row["licenses"] is None and row["default_domain"] is None
    assert row["open_service_requests"] == 1
    assert _hits(limited, customer.domain) == set()
    assert ("user", f"megan.bowen@{customer.domain}") in _hits(limited, "megan.bowen@")


def test_an_agent_before_mfa_sees_name_and_status_only(
    client: TestClient, partner: Partner
) -> None:
    customer = _with_data(make_org(client, "Strict"))
    accepted(partner, customer)
    agent = partner.agent("full", mfa=False)
    board = agent.get(f"/partner/customers/{customer.tenant_id}").json()
    _name_and_status_only(board, "active")
    assert "multi-factor" in board["not_visible"]["domains"]
    assert all(_row(agent, customer)[f] is None for f in FIGURES)
    assert _hits(agent, customer.domain) == set()
    assert _hits(agent, "megan.bowen@") & {("user", f"megan.bowen@{customer.domain}")} == set()


def test_the_partner_audit_view_shows_its_own_agents_only(
    client: TestClient, partner: Partner
) -> None:
    customer = make_org(client, "Private")
    relationship = accepted(partner, customer)  # the customer's admin accepts: its event
    agent = partner.agent("full")
    agent.get(f"{customer.base}/users", expect=200)
    agent.post(f"{customer.base}/service-requests", {"title": "t", "description": "d"}, expect=201)
    customer.admin.post(
        f"{customer.base}/service-requests",
        {"title": "mine", "description": "d"},
        expect=201,
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    customer.admin.delete(f"{customer.base}/partner-relationships/{relationship['id']}")
    seen = partner.admin.get("/partner/audit-events").json()["items"]
    assert "service_request.create" in {e["action"] for e in seen}
    assert all(e["actor"]["tenant_id"] == partner.org.tenant_id for e in seen)
    assert customer.admin_upn not in {e["actor"]["user_principal_name"] for e in seen}
