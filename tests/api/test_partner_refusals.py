"""Every partner-center endpoint: 401 without a token, 403 for an organisation that is not a
partner, 403 for an agent on what only partner admins may do."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Api, Org, Partner

Z = "00000000-0000-4000-8000-000000000000"
ENDPOINTS: list[tuple[str, str, dict | None, bool]] = [  # (method, path, body, admins only)
    ("GET", "/partner/offers", None, True),
    ("POST", "/partner/offers", {}, True),
    ("GET", f"/partner/offers/{Z}", None, True),
    ("PATCH", f"/partner/offers/{Z}", {"enabled": False}, True),
    ("GET", "/partner/relationships", None, True),
    ("GET", f"/partner/relationships/{Z}", None, True),
    ("PATCH", f"/partner/relationships/{Z}", {"auto_extend": False}, True),
    ("POST", f"/partner/relationships/{Z}/terminate", None, True),
    ("GET", f"/partner/relationships/{Z}/access-assignments", None, True),
    (
        "POST",
        f"/partner/relationships/{Z}/access-assignments",
        {"group_id": Z, "roles": ["global_reader"]},
        True,
    ),
    ("DELETE", f"/partner/relationships/{Z}/access-assignments/{Z}", None, True),
    ("GET", f"/partner/agents/{Z}", None, True),
    ("PUT", f"/partner/agents/{Z}", {"access": "full"}, True),
    ("GET", "/partner/audit-events", None, True),
    ("GET", "/partner/customers", None, False),
    ("GET", f"/partner/customers/{Z}", None, False),
    ("GET", f"/partner/customers/{Z}/access", None, False),
    ("GET", "/partner/lookup?q=contoso", None, False),
]
IDS = [f"{m} {p}" for m, p, _, _ in ENDPOINTS]


def _call(api: Api, method: str, path: str, body: dict | None) -> object:
    return api.request(method, path, None, **({"json": body} if body is not None else {}))


@pytest.mark.parametrize(("method", "path", "body", "admins_only"), ENDPOINTS, ids=IDS)
def test_partner_endpoints_refuse(
    client: TestClient,
    org: Org,
    partner: Partner,
    method: str,
    path: str,
    body: dict | None,
    admins_only: bool,
) -> None:
    assert _call(Api(client), method, path, body).status_code == 401
    not_partner = _call(org.admin, method, path, body)
    assert not_partner.status_code == 403
    assert not_partner.json()["type"] == "urn:tenantry:problem:not-a-partner"
    if admins_only:
        refused = _call(partner.agent("full"), method, path, body)
        assert refused.status_code == 403
        assert "partner.manage" in refused.json()["detail"]
