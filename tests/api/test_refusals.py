"""Every tenant-scoped endpoint: 401 without a token, 404 in an organisation the caller has
no path to (never 403), 403 for a member lacking the permission — and the refusal audited."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Api, Org, make_org

Z = "00000000-0000-4000-8000-000000000000"
# (method, path under /tenants/{tid}, body)
ENDPOINTS: list[tuple[str, str, dict | None]] = [
    ("GET", "", None),
    ("PATCH", "", {"phone": "+1 555 0100"}),
    ("GET", "/health", None),
    ("GET", "/users", None),
    ("POST", "/users", {"user_principal_name": "x@example.com", "display_name": "X"}),
    ("GET", f"/users/{Z}", None),
    ("PATCH", f"/users/{Z}", {"display_name": "Y"}),
    ("DELETE", f"/users/{Z}", None),
    ("POST", f"/users/{Z}/reset-password", None),
    ("GET", "/groups", None),
    ("POST", "/groups", {"name": "G"}),
    ("GET", f"/groups/{Z}", None),
    ("PATCH", f"/groups/{Z}", {"name": "H"}),
    ("DELETE", f"/groups/{Z}", None),
    ("GET", f"/groups/{Z}/members", None),
    ("POST", f"/groups/{Z}/members", {"user_id": Z}),
    ("DELETE", f"/groups/{Z}/members/{Z}", None),
    ("GET", "/role-assignments", None),
    ("POST", "/role-assignments", {"role": "global_reader", "user_id": Z}),
    ("DELETE", f"/role-assignments/{Z}", None),
    ("GET", "/domains", None),
    ("POST", "/domains", {"name": "example.com"}),
    ("GET", "/domains/example.com", None),
    ("POST", "/domains/example.com/verify", None),
    ("POST", "/domains/example.com/default", None),
    ("DELETE", "/domains/example.com", None),
    ("GET", "/subscriptions", None),
    ("POST", "/subscriptions", {"sku_id": "business_standard", "seats": 1}),
    ("GET", f"/subscriptions/{Z}", None),
    ("GET", f"/subscriptions/{Z}/licenses", None),
    ("POST", f"/subscriptions/{Z}/licenses", {"user_id": Z}),
    ("DELETE", f"/subscriptions/{Z}/licenses/{Z}", None),
    ("GET", "/service-requests", None),
    ("POST", "/service-requests", {"title": "T", "description": "D"}),
    ("GET", f"/service-requests/{Z}", None),
    ("PATCH", f"/service-requests/{Z}", {"status": "closed"}),
    ("GET", f"/service-requests/{Z}/comments", None),
    ("POST", f"/service-requests/{Z}/comments", {"body": "B"}),
    ("GET", "/devices", None),
    ("POST", "/devices", {"name": "D", "platform": "windows"}),
    ("GET", f"/devices/{Z}", None),
    ("PATCH", f"/devices/{Z}", {"name": "E"}),
    ("DELETE", f"/devices/{Z}", None),
    ("GET", "/audit-events", None),
    ("GET", "/partner-relationships", None),
    ("DELETE", f"/partner-relationships/{Z}", None),
    ("GET", "/partner-policy", None),
    ("PUT", "/partner-policy", {"blocked_permissions": []}),
]
IDS = [f"{m} {p or '/'}" for m, p, _ in ENDPOINTS]


@pytest.fixture(scope="module")
def pair(client: TestClient) -> tuple[Org, Org, Api]:
    """An organisation, a stranger organisation, and a member of the first with no role."""
    org, stranger = make_org(client), make_org(client)
    return org, stranger, org.user_api()


def _call(api: Api, method: str, tenant_id: str, path: str, body: dict | None) -> object:
    kwargs = {"json": body} if body is not None else {}
    return api.request(method, f"/tenants/{tenant_id}{path}", None, **kwargs)


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=IDS)
def test_without_token_is_401(
    client: TestClient, pair: tuple[Org, Org, Api], method: str, path: str, body: dict | None
) -> None:
    org = pair[0]
    response = _call(Api(client), method, org.tenant_id, path, body)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=IDS)
def test_another_tenant_is_404(
    pair: tuple[Org, Org, Api], method: str, path: str, body: dict | None
) -> None:
    org, stranger, _ = pair
    for tenant_id in (stranger.tenant_id, str(uuid.uuid4())):
        response = _call(org.admin, method, tenant_id, path, body)
        assert response.status_code == 404, response.text
        assert response.json()["detail"] == "Organisation not found."


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=IDS)
def test_member_without_the_permission_is_403(
    pair: tuple[Org, Org, Api], method: str, path: str, body: dict | None
) -> None:
    org, _, member = pair
    response = _call(member, method, org.tenant_id, path, body)
    assert response.status_code == 403, response.text
    problem = response.json()
    assert problem["type"] == "urn:tenantry:problem:forbidden"
    assert problem["detail"].startswith("Denied:")


def test_refusals_are_audited_in_the_probed_tenant(client: TestClient) -> None:
    org, stranger = make_org(client), make_org(client)
    member = org.user_api()
    org.admin.get(f"/tenants/{stranger.tenant_id}/users", expect=404)
    member.post(
        f"{org.base}/users",
        {"user_principal_name": f"z@{org.domain}", "display_name": "Z"},
        expect=403,
    )
    probed = stranger.admin.get(f"{stranger.base}/audit-events?action=access.denied").json()
    assert [e["actor"]["user_principal_name"] for e in probed["items"]] == [org.admin_upn]
    assert probed["items"][0]["outcome"] == "denied"
    mine = org.admin.get(f"{org.base}/audit-events?outcome=denied").json()["items"]
    assert mine[0]["details"]["permission"] == "users.create"
    assert mine[0]["request_id"] and mine[0]["client_address"] == "testclient"
