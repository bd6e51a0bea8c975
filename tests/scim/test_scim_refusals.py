"""Every SCIM route of the refusal matrix (``Provisioning``), probed: without a token, with a
person's token, with a revoked provisioning token — 401; with another organisation's
provisioning token — 404; each answered as a SCIM Error."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Org
from tests.refusal_matrix import Provisioning, ids, routes_of
from tests.scim.helpers import MEDIA, error_of, provisioning_token

ROUTES = routes_of(Provisioning, api=False)


def _path(template: str, tenant_id: str) -> str:
    fillers = {
        "{tid}": tenant_id,
        "{rest:path}": "no-such-endpoint",
        "{schema_id}": "urn:ietf:params:scim:schemas:core:2.0:User",
        "{type_id}": "User",
    }
    for key, value in fillers.items():
        template = template.replace(key, value)
    return template.replace("{user_id}", "00000000-0000-4000-8000-000000000000").replace(
        "{group_id}", "00000000-0000-4000-8000-000000000000"
    )


def _send(org: Org, method: str, path: str, token: str | None, body: Any) -> Any:
    headers = {"Content-Type": MEDIA}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return org.client.request(method, path, headers=headers, json=body)


@pytest.mark.parametrize(("method", "template", "expected"), ROUTES, ids=ids(ROUTES))
def test_only_the_organisations_own_token_gets_in(
    org: Org, other_org: Org, method: str, template: str, expected: Provisioning
) -> None:
    path = _path(template, org.tenant_id)
    revoked = provisioning_token(org, "Revoked")
    org.admin.delete(f"{org.base}/scim-tokens/{revoked['id']}")
    for token in (None, org.admin.token, revoked["token"]):
        response = _send(org, method, path, token, expected.body)
        assert response.status_code == 401, (token, response.text)
        error_of(response)
    theirs = provisioning_token(other_org, "Theirs")["token"]
    response = _send(org, method, path, theirs, expected.body)
    assert response.status_code == 404, response.text
    error_of(response)
