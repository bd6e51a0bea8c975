"""Every partner-center endpoint: 401 without a token, 403 for an organisation that is not a
partner, 403 for an agent on what only partner admins may do. The endpoints come from the
refusal matrix (tests/refusal_matrix.py), which lists every route of the app."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Api, Org, Partner
from tests.refusal_matrix import API, PartnerCenter, concrete, ids, routes_of

ENDPOINTS = routes_of(PartnerCenter, api=True)


def _call(api: Api, method: str, path: str, expected: PartnerCenter) -> Any:
    body = expected.body
    address = concrete(path).removeprefix(API) + expected.query
    return api.request(method, address, None, **({"json": body} if body is not None else {}))


@pytest.mark.parametrize(("method", "path", "expected"), ENDPOINTS, ids=ids(ENDPOINTS))
def test_partner_endpoints_refuse(
    client: TestClient,
    org: Org,
    partner: Partner,
    method: str,
    path: str,
    expected: PartnerCenter,
) -> None:
    assert _call(Api(client), method, path, expected).status_code == 401
    not_partner = _call(org.admin, method, path, expected)
    assert not_partner.status_code == 403
    assert not_partner.json()["type"] == "urn:tenantry:problem:not-a-partner"
    if expected.admins_only:
        refused = _call(partner.agent("full"), method, path, expected)
        assert refused.status_code == 403
        assert "partner.manage" in refused.json()["detail"]
