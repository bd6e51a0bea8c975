"""Customer group forms without a browser (the TestClient posts the page's form with its CSRF
token): a bad rule in the builder or in JSON, a bad custom-field line, each refused on the
page with the reason in words; a good rule made; an agent sees the groups, not the forms."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.directory import tenants
from tenantry.partners import enrolment as partners
from tests.conftest import PASSWORD, FakeClock, Partner, accepted, enrol_mfa, make_org
from tests.web.test_form_rules import CSRF, Browser

PAGE = "/partner/customer-groups"


def test_rule_and_field_forms_say_what_is_wrong(
    app: Any,
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    org = make_org(client, "Formwise")
    with sessions.begin() as session:
        partners.enroll(
            Context(session=session, settings=settings),
            tenants.find_tenant(Context(session=session, settings=settings), org.tenant_id),
        )
    partner = Partner(org, clock)
    customer = make_org(client, "Noted")
    accepted(partner, customer)
    browser = Browser(app, org)

    shown = browser.refused(PAGE, {"name": "J", "kind": "dynamic", "rule_json": "{bad"}, page=PAGE)
    assert "Rule (JSON): not valid JSON" in shown
    row = {"name": "S", "kind": "dynamic", "cond_1": "seats", "measure_1": "used", "op_1": "gt"}
    shown = browser.refused(PAGE, {**row, "value_1": "many"}, page=PAGE)
    assert "Condition 1" in shown and "integer" in shown
    shown = browser.refused(PAGE, {"name": "F", "kind": "dynamic", "cond_1": "field"}, page=PAGE)
    assert "Condition 1" in shown
    made = browser.post(
        PAGE,
        {
            "name": "EU",
            "kind": "dynamic",
            "match": "any",
            "cond_1": "field",
            "key_1": "region",
            "op_1": "equals",
            "value_1": "EU",
            "cond_2": "relationship_ends",
            "value_2": "30",
            "not_2": "on",
        },
        page=PAGE,
    )
    assert made.status_code == 303, made.text
    group = org.admin.get("/partner/customer-groups").json()["items"][0]
    assert group["rule"] == {
        "any": [
            {"condition": "field", "key": "region", "equals": "EU"},
            {"not": {"condition": "relationship_ends", "within_days": 30}},
        ]
    }
    page = f"/partner/customers/{customer.tenant_id}"
    shown = browser.refused(f"{page}/fields", {"fields": "region EU"}, page=page)
    assert "Custom fields, line 1: write name=value" in shown
    saved = browser.post(f"{page}/fields", {"fields": "region=EU\n\ntier = gold"}, page=page)
    assert saved.status_code == 303
    assert org.admin.get(f"{page}/fields").json()["fields"] == {"region": "EU", "tier": "gold"}

    enrol_mfa(org.admin, clock)  # handing out agent access needs a second factor
    agent_id = org.create_user()
    org.admin.request("PUT", f"/partner/agents/{agent_id}", 200, json={"access": "full"})
    agent = TestClient(app, follow_redirects=False)
    token = CSRF.search(agent.get("/sign-in").text)
    assert token
    form = {"username": org.users[agent_id], "password": PASSWORD, "csrf_token": token.group(1)}
    agent.post("/sign-in", data=form, headers={"Referer": "/sign-in"})
    listed = agent.get(PAGE)
    assert listed.status_code == 200 and ">EU</a>" in listed.text
    assert (
        "New group" not in listed.text
        and "Change the group" not in agent.get(f"{PAGE}/{group['id']}").text
    )
    assert "Save the custom fields" not in agent.get(page).text
