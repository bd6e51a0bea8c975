"""A SCIM client over the test app (or a served process): the base URL of one organisation
and its provisioning token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.conftest import Org

MEDIA = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class Scim:
    """The SCIM endpoint of ``org`` as the identity system holding ``token`` sees it."""

    org: Org
    token: str
    tenant_id: str = ""

    @property
    def base(self) -> str:
        return f"/scim/v2/{self.tenant_id or self.org.tenant_id}"

    def request(self, method: str, path: str, expect: int | None = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}) or {})
        headers.setdefault("Authorization", f"Bearer {self.token}")
        if "json" in kwargs:
            headers.setdefault("Content-Type", MEDIA)
        response = self.org.client.request(method, self.base + path, headers=headers, **kwargs)
        if expect is not None:
            assert response.status_code == expect, (
                f"{method} {path}: expected {expect}, got {response.status_code}: {response.text}"
            )
        return response

    def get(self, path: str, expect: int | None = 200, **kw: Any) -> Any:
        return self.request("GET", path, expect, **kw)

    def post(self, path: str, json: Any, expect: int | None = 201, **kw: Any) -> Any:
        return self.request("POST", path, expect, json=json, **kw)

    def put(self, path: str, json: Any, expect: int | None = 200, **kw: Any) -> Any:
        return self.request("PUT", path, expect, json=json, **kw)

    def patch(
        self, path: str, operations: list[dict[str, Any]], expect: int | None = 200, **kw: Any
    ) -> Any:
        return self.request(
            "PATCH", path, expect, json={"schemas": [PATCH], "Operations": operations}, **kw
        )

    def delete(self, path: str, expect: int | None = 204, **kw: Any) -> Any:
        return self.request("DELETE", path, expect, **kw)

    def create_user(self, user_name: str, **fields: Any) -> dict[str, Any]:
        body = {"schemas": [USER], "userName": user_name, **fields}
        return dict(self.post("/Users", body).json())

    def create_group(self, name: str, members: list[str] = (), **fields: Any) -> dict[str, Any]:  # type: ignore[assignment]
        body = {
            "schemas": [GROUP],
            "displayName": name,
            "members": [{"value": m} for m in members],
            **fields,
        }
        return dict(self.post("/Groups", body).json())


def provisioning_token(org: Org, name: str = "Okta", **fields: Any) -> dict[str, Any]:
    return dict(
        org.admin.post(f"{org.base}/scim-tokens", {"name": name, **fields}, expect=201).json()
    )


def scim_for(org: Org, name: str = "Okta") -> Scim:
    return Scim(org, provisioning_token(org, name)["token"])


def error_of(response: Any) -> dict[str, Any]:
    """The SCIM Error a refusal carries (RFC 7644 §3.12), checked for its shape."""
    assert response.headers["content-type"].startswith(MEDIA), response.text
    body = dict(response.json())
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"], body
    assert body["status"] == str(response.status_code), body
    return body
