"""Customer groups (issue 14): CRUD, every rule condition (on both databases), include and
except on the customer list, another partner's group, admins vs agents, bad rules, and the
duplicate-name race."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.core.errors import NotFound
from tenantry.models import User
from tenantry.partners.selection import CustomerSelection, selected_customers
from tenantry.support import health
from tests.conftest import Api, FakeClock, Org, Partner, accepted, make_org, make_partner
from tests.factories import principal


def _preview(api: Api, rule: dict[str, Any]) -> set[str]:
    body = api.post("/partner/customer-groups/preview", {"rule": rule}, expect=200).json()
    ids = {c["tenant_id"] for c in body["items"]}
    assert body["count"] == len(ids)
    return ids


def _listed(api: Api, query: str) -> set[str]:
    rows = api.get(f"/partner/customers?limit=200&{query}").json()["items"]
    return {r["tenant_id"] for r in rows}


def _subscribe(org: Org, sku: str, seats: int, assign: bool = False) -> None:
    sub = org.admin.post(
        f"{org.base}/subscriptions", {"sku_id": sku, "seats": seats}, expect=201
    ).json()
    if assign:
        org.admin.post(
            f"{org.base}/subscriptions/{sub['id']}/licenses", {"user_id": org.admin_id}, expect=201
        )


def _fields(partner: Partner, org: Org, fields: dict[str, str]) -> None:
    partner.admin.request(
        "PUT", f"/partner/customers/{org.tenant_id}/fields", 200, json={"fields": fields}
    )


def test_relationship_conditions(client: TestClient, partner: Partner) -> None:
    a, b, c, d = (make_org(client, n) for n in ("Alder", "Birch", "Cedar", "Dogwood"))
    accepted(partner, a, {"roles": ["global_reader"], "duration": "P30D"})
    accepted(partner, b, {"roles": ["global_reader", "user_administrator"], "duration": "P365D"})
    terms = {"roles": ["service_support_administrator"], "duration": "P30D", "auto_extend": True}
    accepted(partner, c, terms)
    partner.offer({"customer_tenant_id": d.tenant_id, "roles": ["global_reader"]})
    A, B, C, D = a.tenant_id, b.tenant_id, c.tenant_id, d.tenant_id
    api = partner.admin

    def status(*s: str) -> dict[str, Any]:
        return {"condition": "relationship_status", "in": list(s)}

    assert _preview(api, status("active")) == {A, B, C}
    assert _preview(api, status("approval_pending")) == {D}
    assert _preview(api, status("expired", "terminated")) == set()
    ends = {"condition": "relationship_ends", "within_days": 90}
    assert _preview(api, ends) == {A, C}
    assert _preview(api, {**ends, "within_days": 400}) == {A, B, C}
    before = (datetime.now(UTC) + timedelta(days=100)).date().isoformat()
    assert _preview(api, {"condition": "relationship_ends", "before": before}) == {A, C}
    assert _preview(api, {"condition": "auto_extend"}) == {C}
    assert _preview(api, {"condition": "auto_extend", "is": False}) == {A, B}
    assert _preview(api, {"not": {"condition": "auto_extend"}}) == {A, B, D}
    roles = {"condition": "roles", "roles": ["user_administrator"]}
    assert _preview(api, roles) == {B}
    assert _preview(api, {**roles, "roles": ["global_reader"]}) == {A, B}
    both = {
        "condition": "roles",
        "includes": "all",
        "roles": ["global_reader", "user_administrator"],
    }
    assert _preview(api, both) == {B}
    assert _preview(api, {"any": [both, {"condition": "auto_extend"}]}) == {B, C}
    assert _preview(api, {"all": [status("active"), {"not": ends}]}) == {B}
    # Terminated by the customer: the group follows the status at once.
    rel = a.admin.get(f"{a.base}/partner-relationships").json()["items"][0]
    a.admin.delete(f"{a.base}/partner-relationships/{rel['id']}")
    assert _preview(api, status("active")) == {B, C}


@pytest.fixture
def mail_down(sessions: sessionmaker[Session], settings: Settings) -> Iterator[None]:
    """Device management in an incident for the test, healthy again after."""
    with sessions.begin() as session:
        health.set_status(
            Context(session=session, settings=settings), "device_management", "incident", None
        )
    yield
    with sessions.begin() as session:
        health.set_status(
            Context(session=session, settings=settings), "device_management", "healthy", None
        )


def test_customer_data_and_field_conditions(
    client: TestClient, partner: Partner, mail_down: None
) -> None:
    e, f, g = (make_org(client, n) for n in ("Elm", "Fir", "Gum"))
    for org in (e, f, g):
        accepted(partner, org)  # classic: the partner admin reads everything
    _subscribe(e, "business_standard", 10, assign=True)
    _subscribe(e, "device_management", 2)
    _subscribe(f, "business_premium", 3)
    _fields(partner, e, {"region": "EU", "tier": "gold"})
    _fields(partner, f, {"region": "US"})
    E, F, G = e.tenant_id, f.tenant_id, g.tenant_id
    api = partner.admin

    def skus(*s: str, includes: str = "any") -> dict[str, Any]:
        return {"condition": "skus", "includes": includes, "skus": list(s)}

    def seats(measure: str, op: str, value: int, sku: str | None = None) -> dict[str, Any]:
        rule = {"condition": "seats", "measure": measure, "op": op, "value": value}
        return rule | ({"sku": sku} if sku else {})

    def field(key: str, **how: Any) -> dict[str, Any]:
        return {"condition": "field", "key": key, **how}

    assert _preview(api, skus("business_standard")) == {E}
    assert _preview(api, skus("business_standard", "business_premium")) == {E, F}
    assert _preview(api, skus("business_standard", "business_premium", includes="all")) == set()
    assert _preview(api, skus("business_standard", "device_management", includes="all")) == {E}
    assert _preview(api, {"not": skus("business_standard")}) == {F, G}
    assert _preview(api, seats("used", "ge", 1)) == {E}
    assert _preview(api, seats("total", "ge", 3)) == {E, F}
    assert _preview(api, seats("free", "lt", 5)) == {F, G}
    assert _preview(api, seats("total", "eq", 3, "business_premium")) == {F}
    assert _preview(api, seats("used", "ne", 0)) == {E}
    assert _preview(api, seats("total", "le", 0)) == {G}
    assert _preview(api, seats("free", "gt", 9)) == {E}
    assert _preview(api, {"condition": "health", "in": ["incident"]}) == {E, F}
    assert _preview(api, {"condition": "health", "in": ["degraded"]}) == set()
    assert _preview(api, {"condition": "health"}) == {E, F}
    assert _preview(api, field("region", equals="EU")) == {E}
    assert _preview(api, field("region", **{"in": ["EU", "US"]})) == {E, F}
    assert _preview(api, field("tier", exists=True)) == {E}
    assert _preview(api, field("tier", exists=False)) == {F, G}
    assert _preview(api, {"not": field("region", equals="EU")}) == {F, G}
    combined = {"all": [skus("business_standard"), field("region", equals="EU")]}
    assert _preview(api, combined) == {E}
    assert _preview(
        api, {"not": {"any": [skus("business_premium"), field("tier", exists=True)]}}
    ) == {G}
    assert api.get(f"/partner/customers/{E}/fields").json()["fields"] == {
        "region": "EU",
        "tier": "gold",
    }
    _fields(partner, e, {"region": "EU", "tier": ""})  # an empty value removes the field
    assert _preview(api, field("tier", exists=True)) == set()


def test_crud_filters_and_except(client: TestClient, partner: Partner) -> None:
    orgs = [make_org(client, n) for n in ("Hazel", "Ivy", "Juniper")]
    for org in orgs:
        accepted(partner, org)
    H, K, J = (o.tenant_id for o in orgs)
    api = partner.admin
    static = api.post(
        "/partner/customer-groups", {"name": "Pilot", "tenant_ids": [H, K, H]}, expect=201
    ).json()
    assert static["kind"] == "static" and set(static["tenant_ids"]) == {H, K}
    _fields(partner, orgs[2], {"region": "EU"})
    rule = {"condition": "field", "key": "region", "equals": "EU"}
    dynamic = api.post(
        "/partner/customer-groups",
        {"name": "EU", "description": "Europe", "rule": rule},
        expect=201,
    ).json()
    assert dynamic["kind"] == "dynamic" and dynamic["rule"] == rule
    listed = api.get("/partner/customer-groups").json()["items"]
    assert [g["name"] for g in listed] == ["EU", "Pilot"]
    assert _listed(api, f"group={static['id']}") == {H, K}
    assert _listed(api, f"group={static['id']}&except_customer={H}") == {K}
    assert _listed(api, f"group={static['id']}&group={dynamic['id']}") == {H, K, J}
    assert _listed(api, f"except_group={static['id']}") == {J}
    assert _listed(api, f"customer={J}&customer={H}&except_group={dynamic['id']}") == {H}
    members = api.get(f"/partner/customer-groups/{dynamic['id']}/customers").json()["items"]
    assert [m["tenant_id"] for m in members] == [J]
    # Change: rename, new members, a rule on a static group (dynamic), then back to static.
    changed = api.patch(
        f"/partner/customer-groups/{static['id']}",
        {"name": "Pilot 2", "tenant_ids": [J], "rule": rule},
    ).json()
    assert changed["name"] == "Pilot 2" and changed["kind"] == "dynamic"
    assert changed["tenant_ids"] == [J]
    back = api.patch(f"/partner/customer-groups/{static['id']}", {"rule": None}).json()
    assert back["kind"] == "static" and back["rule"] is None
    taken = api.patch(f"/partner/customer-groups/{static['id']}", {"name": "EU"}, expect=409)
    assert taken.json()["type"].endswith("duplicate-name")
    api.post("/partner/customer-groups", {"name": "EU"}, expect=409)
    api.delete(f"/partner/customer-groups/{static['id']}")
    api.get(f"/partner/customer-groups/{static['id']}", expect=404)
    api.get(f"/partner/customers?group={static['id']}", expect=404)
    events = api.get(f"{partner.org.base}/audit-events?action=customer_group").json()["items"]
    assert {e["action"] for e in events} >= {
        "customer_group.created",
        "customer_group.updated",
        "customer_group.deleted",
    }


def test_another_partners_group_is_not_found(
    client: TestClient,
    partner: Partner,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    org = make_org(client, "Shared")
    accepted(partner, org)
    group = partner.admin.post(
        "/partner/customer-groups", {"name": "Mine", "tenant_ids": [org.tenant_id]}, expect=201
    ).json()
    rival = make_partner(client, sessions, settings, clock, "Rival")
    accepted(rival, org)
    gid = group["id"]
    for path in (f"/partner/customer-groups/{gid}", f"/partner/customer-groups/{gid}/customers"):
        assert rival.admin.get(path, expect=404).json()["detail"] == "Customer group not found."
    rival.admin.patch(f"/partner/customer-groups/{gid}", {"name": "Theirs"}, expect=404)
    rival.admin.delete(f"/partner/customer-groups/{gid}", expect=404)
    rival.admin.get(f"/partner/customers?group={gid}", expect=404)
    rival.admin.get(f"/partner/customers?except_group={gid}", expect=404)
    rival.admin.get(f"/partner/customers?group={uuid.uuid4()}", expect=404)
    assert rival.admin.get("/partner/customer-groups").json()["items"] == []
    # Nor may it put a customer it doesn't have into a group, or read the first's fields.
    stranger = make_org(client, "Stranger")
    refused = rival.admin.post(
        "/partner/customer-groups", {"name": "X", "tenant_ids": [stranger.tenant_id]}, expect=422
    )
    assert "Not customers of this partner" in refused.json()["detail"]
    rival.admin.request(
        "PUT", f"/partner/customers/{stranger.tenant_id}/fields", 404, json={"fields": {"a": "b"}}
    )
    _fields(partner, org, {"region": "EU"})
    assert rival.admin.get(f"/partner/customers/{org.tenant_id}/fields").json()["fields"] == {}


def test_agents_read_admins_change(client: TestClient, partner: Partner) -> None:
    org = make_org(client, "Kauri")
    accepted(partner, org)
    group = partner.admin.post(
        "/partner/customer-groups", {"name": "All", "tenant_ids": [org.tenant_id]}, expect=201
    ).json()
    agent = partner.agent("full")
    assert [g["id"] for g in agent.get("/partner/customer-groups").json()["items"]] == [group["id"]]
    assert agent.get(f"/partner/customer-groups/{group['id']}").json()["tenant_ids"] == [
        org.tenant_id
    ]
    assert _listed(agent, f"group={group['id']}") == {org.tenant_id}
    gid = group["id"]
    for method, path, body in (
        ("POST", "/partner/customer-groups", {"name": "Mine"}),
        ("PATCH", f"/partner/customer-groups/{gid}", {"name": "Mine"}),
        ("DELETE", f"/partner/customer-groups/{gid}", None),
        ("POST", "/partner/customer-groups/preview", {"rule": {"condition": "auto_extend"}}),
        ("PUT", f"/partner/customers/{org.tenant_id}/fields", {"fields": {"a": "b"}}),
    ):
        agent.request(method, path, 403, json=body)
    assert agent.get(f"/partner/customers/{org.tenant_id}/fields").json() == {"fields": {}}
    # An agent with no access to customers sees the group, none of its customers.
    nobody = partner.agent("none")
    assert nobody.get(f"/partner/customer-groups/{gid}").json()["tenant_ids"] == []
    assert _listed(nobody, f"group={gid}") == set()
    nobody.get(f"/partner/customers/{org.tenant_id}/fields", expect=404)


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ({"foo": 1}, "a rule is"),
        ({"condition": "nope"}, "a rule is"),
        ({"condition": "seats", "measure": "used", "op": "between", "value": 1}, "op"),
        ({"condition": "relationship_ends"}, "within_days or before"),
        ({"condition": "field", "key": "region"}, "exactly one of"),
        ({"condition": "field", "key": "bad key", "equals": "x"}, "pattern"),
        ({"condition": "roles", "roles": ["emperor"]}, "roles"),
        ({"all": []}, "at least 1"),
        (
            {"not": {"not": {"not": {"not": {"not": {"not": {"condition": "auto_extend"}}}}}}},
            "levels",
        ),
        ({"any": [{"condition": "auto_extend"}] * 51}, "at most"),
        ({"condition": "relationship_ends", "within_days": -1}, "greater than or equal"),
    ],
)
def test_bad_rules_are_422(partner: Partner, rule: dict[str, Any], says: str) -> None:
    refused = partner.admin.post(
        "/partner/customer-groups", {"name": "Bad", "rule": rule}, expect=422
    ).json()
    assert says in str(refused), refused


def test_unknown_sku_and_bad_fields_are_422(client: TestClient, partner: Partner) -> None:
    rule = {"condition": "skus", "skus": ["no_such_sku"]}
    refused = partner.admin.post(
        "/partner/customer-groups", {"name": "S", "rule": rule}, expect=422
    )
    assert "unknown SKU no_such_sku" in refused.json()["detail"]
    org = make_org(client, "Larch")
    accepted(partner, org)
    path = f"/partner/customers/{org.tenant_id}/fields"
    partner.admin.request("PUT", path, 422, json={"fields": {"bad key": "x"}})
    partner.admin.request("PUT", path, 422, json={"fields": {"k": "x" * 300}})


def test_parallel_creates_of_one_name_have_one_winner(partner: Partner) -> None:
    name = f"Race {uuid.uuid4().hex[:6]}"
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(
            pool.map(
                lambda _: (
                    partner.admin.post(
                        "/partner/customer-groups", {"name": name}, expect=None
                    ).status_code
                ),
                range(6),
            )
        )
    assert sorted(codes) == [201] + [409] * 5, codes
    names = [g["name"] for g in partner.admin.get("/partner/customer-groups").json()["items"]]
    assert names.count(name) == 1


def test_selected_customers_resolves_groups_for_the_other_parts(
    client: TestClient, partner: Partner, sessions: sessionmaker[Session], settings: Settings
) -> None:
    """Reports, jobs and templates take ``selected_customers`` (a SELECT over relationships):
    a group inside it resolves as on the customer list, with the caller's guards."""
    holder, other, third = (make_org(client, n) for n in ("Maple", "Nutmeg", "Olive"))
    for org in (holder, other, third):
        accepted(partner, org)
    _subscribe(holder, "business_standard", 2)
    api = partner.admin
    rule = {"condition": "skus", "skus": ["business_standard"]}
    dynamic = api.post("/partner/customer-groups", {"name": "D", "rule": rule}, expect=201)
    chosen = api.post("/partner/customer-groups", {"name": "S", "tenant_ids": [other.tenant_id]})
    with sessions() as session:
        admin = session.get(User, uuid.UUID(partner.org.admin_id))
        assert admin is not None
        ctx = Context(session=session, settings=settings, principal=principal(admin, mfa=True))
        partner_id = uuid.UUID(partner.org.tenant_id)

        def ids(selection: CustomerSelection) -> set[str]:
            stmt = selected_customers(ctx, partner_id, selection)
            return {str(t) for t in session.scalars(stmt)}

        d, s = uuid.UUID(dynamic.json()["id"]), uuid.UUID(chosen.json()["id"])
        assert ids(CustomerSelection(groups=(d,))) == {holder.tenant_id}
        assert ids(CustomerSelection(groups=(d, s))) == {holder.tenant_id, other.tenant_id}
        assert ids(CustomerSelection(except_groups=(d, s))) == {third.tenant_id}
        with pytest.raises(NotFound):
            selected_customers(ctx, partner_id, CustomerSelection(groups=(uuid.uuid4(),)))
        # Without a second factor the delegated rule reads nothing: the SKU group is empty.
        ctx.principal = principal(admin, mfa=False)
        assert ids(CustomerSelection(groups=(d,))) == set()


def test_another_partners_group_is_not_found_in_any_selection(
    client: TestClient,
    partner: Partner,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    """Reports, Find, jobs and templates take a selection: a group of another partner in
    it (to include or to except) is 404 there too, and nothing is made."""
    org = make_org(client, "Shared")
    accepted(partner, org)
    gid = partner.admin.post(
        "/partner/customer-groups", {"name": "Mine", "tenant_ids": [org.tenant_id]}, expect=201
    ).json()["id"]
    rival = make_partner(client, sessions, settings, clock, "Rival")
    accepted(rival, org)
    agent = rival.agent("full")
    techs = rival.admin.post(f"{rival.org.base}/groups", {"name": "Techs"}, expect=201).json()
    template = rival.admin.post(
        "/partner/access-templates",
        {"name": "T", "assignments": [{"group_id": techs["id"], "roles": ["global_reader"]}]},
        expect=201,
    ).json()
    for key in ("group", "except_group"):
        for who in (rival.admin, agent):
            who.get(f"/partner/reports/users?{key}={gid}", expect=404)
            who.get(f"/partner/users?{key}={gid}", expect=404)
        for body_key in ("groups", "except_groups"):
            agent.post(
                "/partner/jobs",
                {
                    "action": "block_sign_in",
                    "selection": {"customers": {body_key: [gid]}},
                },
                expect=404,
            )
            for verb in ("preview", "apply", "unapply"):
                rival.admin.post(
                    f"/partner/access-templates/{template['id']}/{verb}",
                    {"selection": {body_key: [gid]}},
                    expect=404,
                )
    assert agent.get("/partner/jobs").json()["items"] == []
