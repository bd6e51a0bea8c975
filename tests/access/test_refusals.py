"""Every tenant-scoped endpoint: 401 without a token, 404 in an organisation the caller has
no path to (never 403), 403 for a member lacking the permission — and the refusal audited.
Every signed-in-only endpoint: 401 without a token. The endpoints and their bodies come from
the refusal matrix (tests/refusal_matrix.py), which lists every route of the app."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Api, Org, make_org
from tests.refusal_matrix import API, SignedIn, TenantScoped, concrete, ids, routes_of

TENANT_SCOPED = routes_of(TenantScoped, api=True)
SIGNED_IN = routes_of(TenantScoped, api=True) + routes_of(SignedIn, api=True)


@pytest.fixture(scope="module")
def pair(client: TestClient) -> tuple[Org, Org, Api]:
    """An organisation, a stranger organisation, and a member of the first with no role."""
    org, stranger = make_org(client), make_org(client)
    return org, stranger, org.user_api()


def _call(api: Api, method: str, tenant_id: str, path: str, body: dict | None) -> Any:
    kwargs = {"json": body} if body is not None else {}
    return api.request(method, concrete(path, tenant_id).removeprefix(API), None, **kwargs)


@pytest.mark.parametrize(("method", "path", "expected"), SIGNED_IN, ids=ids(SIGNED_IN))
def test_without_token_is_401(
    client: TestClient,
    pair: tuple[Org, Org, Api],
    method: str,
    path: str,
    expected: TenantScoped | SignedIn,
) -> None:
    org = pair[0]
    response = _call(Api(client), method, org.tenant_id, path, expected.body)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("method", "path", "expected"), TENANT_SCOPED, ids=ids(TENANT_SCOPED))
def test_another_tenant_is_404(
    pair: tuple[Org, Org, Api], method: str, path: str, expected: TenantScoped
) -> None:
    org, stranger, _ = pair
    for tenant_id in (stranger.tenant_id, str(uuid.uuid4())):
        response = _call(org.admin, method, tenant_id, path, expected.body)
        assert response.status_code == 404, response.text
        assert response.json()["detail"] == "Organisation not found."


@pytest.mark.parametrize(("method", "path", "expected"), TENANT_SCOPED, ids=ids(TENANT_SCOPED))
def test_member_without_the_permission_is_403(
    pair: tuple[Org, Org, Api], method: str, path: str, expected: TenantScoped
) -> None:
    org, _, member = pair
    response = _call(member, method, org.tenant_id, path, expected.body)
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
