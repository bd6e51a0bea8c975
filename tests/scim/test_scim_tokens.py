"""Provisioning tokens: made by the organisation's own Global Administrators (never on behalf,
never by an app, never by a User Administrator), shown once, stored as SHA-256, listed without
the secret, revoked at the very next request; a token opens its own organisation's SCIM
endpoint and nothing else."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tenantry.access.roles import Role
from tenantry.models import ScimToken
from tests.conftest import Api, FakeClock, Org, Partner, accepted, make_org
from tests.identity.test_client_tokens import get_token, tenant_client
from tests.scim.helpers import Scim, error_of, provisioning_token, scim_for


def test_a_token_is_shown_once_and_stored_as_its_sha256(
    org: Org, sessions: sessionmaker[Session]
) -> None:
    made = provisioning_token(org, "Okta", expires_at="2999-01-01T00:00:00Z")
    value = made["token"]
    assert value.startswith("tnryscim_") and len(value) >= len("tnryscim_") + 43  # 32 bytes
    assert made["scim_base_url"].endswith(f"/scim/v2/{org.tenant_id}")
    with sessions() as session:
        row = session.get(ScimToken, uuid.UUID(made["id"]))
        assert row is not None
        assert row.token_hash == hashlib.sha256(value.encode()).hexdigest()
        assert value not in {row.token_hash, row.name}
    listed = org.admin.get(f"{org.base}/scim-tokens").json()["items"]
    assert [t["name"] for t in listed] == ["Okta"]
    assert "token" not in listed[0] and listed[0]["last_used_at"] is None
    assert listed[0]["expires_at"].startswith("2999-01-01")
    # Used: its last use shows.
    Scim(org, value).get("/ServiceProviderConfig")
    assert org.admin.get(f"{org.base}/scim-tokens").json()["items"][0]["last_used_at"]
    # A second token of the same name is refused.
    org.admin.post(f"{org.base}/scim-tokens", {"name": "Okta"}, expect=409)
    actions = [e["action"] for e in org.admin.get(f"{org.base}/audit-events").json()["items"]]
    assert "scim_token.create" in actions


def test_a_revoked_token_is_refused_at_its_next_request(org: Org) -> None:
    made = provisioning_token(org)
    scim = Scim(org, made["token"])
    scim.get("/Users")
    org.admin.delete(f"{org.base}/scim-tokens/{made['id']}")
    refused = error_of(scim.get("/Users", expect=401))
    assert "revoked" in refused["detail"]
    assert scim.get("/Users", expect=401).headers["www-authenticate"].startswith("Bearer")
    assert org.admin.get(f"{org.base}/scim-tokens").json()["items"] == []
    org.admin.delete(f"{org.base}/scim-tokens/{made['id']}", expect=404)
    actions = [e["action"] for e in org.admin.get(f"{org.base}/audit-events").json()["items"]]
    assert "scim_token.revoke" in actions


def test_an_expired_token_is_refused(org: Org, clock: FakeClock) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    scim = Scim(org, provisioning_token(org, expires_at=soon)["token"])
    scim.get("/Users")
    clock.advance(hours=2)
    error_of(scim.get("/Users", expect=401))
    org.admin.post(
        f"{org.base}/scim-tokens",
        {"name": "Past", "expires_at": "2000-01-01T00:00:00Z"},
        expect=422,
    )


def test_only_a_provisioning_token_opens_the_scim_endpoint(org: Org) -> None:
    scim = scim_for(org)
    for token in ("", "nonsense", "tnryscim_" + "x" * 43, org.admin.token or ""):
        response = Scim(org, token).get("/Users", expect=401)
        error_of(response)
    no_header = org.client.get(f"/scim/v2/{org.tenant_id}/Users")
    assert no_header.status_code == 401
    # A provisioning token is no token of the API, nor of the web pages.
    api = Api(org.client, scim.token)
    api.get("/me", expect=401)
    api.get(f"{org.base}/users", expect=401)


def test_another_organisations_endpoint_is_not_found(org: Org, other_org: Org) -> None:
    scim = scim_for(org)
    theirs = Scim(other_org, scim.token)  # our token, their tenant id in the path
    for path in ("/ServiceProviderConfig", "/Users", "/Groups", f"/Users/{other_org.admin_id}"):
        assert error_of(theirs.get(path, expect=404))["status"] == "404"
    theirs.post("/Users", {"userName": "mallory"}, expect=404)
    # Their user's id under our own tenant: not found either.
    scim.get(f"/Users/{other_org.admin_id}", expect=404)
    scim.patch(
        f"/Users/{other_org.admin_id}",
        [{"op": "replace", "path": "active", "value": False}],
        expect=404,
    )
    scim.delete(f"/Users/{other_org.admin_id}", expect=404)
    Scim(org, scim.token, tenant_id="not-a-uuid").get("/Users", expect=404)
    assert other_org.admin.get(f"/tenants/{other_org.tenant_id}/users/{other_org.admin_id}")


def test_only_the_organisations_global_administrators_make_tokens(org: Org, other_org: Org) -> None:
    user_admin = org.user_api((Role.USER_ADMINISTRATOR,))
    refused = user_admin.post(f"{org.base}/scim-tokens", {"name": "Mine"}, expect=403).json()
    assert "roles.assign" in refused["detail"]
    user_admin.get(f"{org.base}/scim-tokens", expect=403)
    other_org.admin.post(f"{org.base}/scim-tokens", {"name": "Theirs"}, expect=404)
    other_org.admin.get(f"{org.base}/scim-tokens", expect=404)
    made = provisioning_token(org)
    other_org.admin.delete(f"{org.base}/scim-tokens/{made['id']}", expect=404)
    user_admin.delete(f"{org.base}/scim-tokens/{made['id']}", expect=403)


def test_a_partner_never_makes_a_token_on_behalf(
    partner: Partner, client: TestClient, clock: FakeClock, sessions: sessionmaker[Session]
) -> None:
    """A credential made on behalf would outlive the relationship: refused through the access
    module (delegated decision), explained and audited in the customer, even to a Full agent
    with Global Administrator there."""
    customer = make_org(client)
    accepted(partner, customer)  # the classic offer: Admin agents get Global Administrator
    agent = partner.agent("full")
    refused = agent.post(f"{customer.base}/scim-tokens", {"name": "Backdoor"}, expect=403)
    assert "never on behalf" in refused.json()["detail"]
    agent.get(f"{customer.base}/scim-tokens", expect=403)
    made = provisioning_token(customer)
    agent.delete(f"{customer.base}/scim-tokens/{made['id']}", expect=403)
    with sessions() as session:
        names = session.scalars(
            select(ScimToken.name).where(ScimToken.tenant_id == uuid.UUID(customer.tenant_id))
        ).all()
    assert names == ["Okta"]
    denied = [
        e
        for e in customer.admin.get(f"{customer.base}/audit-events").json()["items"]
        if e["action"] == "access.denied"
    ]
    assert denied and denied[0]["partner_tenant_id"] == partner.org.tenant_id
    # The partner's own admin, in its own tenant, may (it is its home).
    provisioning_token(partner.org, "Partner's own IdP")


def test_an_api_client_never_makes_a_token(client: TestClient, org: Org) -> None:
    """An app is a standing credential already: it can't mint another (it never holds
    Global Administrator, so never roles.assign), nor use its token at the SCIM endpoint."""
    app = tenant_client(org, ("user_administrator", "security_reader"))
    token = get_token(client, app["client_id"], app["client_secret"]).json()["access_token"]
    as_app = Api(client, token)
    as_app.post(f"{org.base}/scim-tokens", {"name": "From an app"}, expect=403)
    as_app.get(f"{org.base}/scim-tokens", expect=403)
    error_of(Scim(org, token).get("/Users", expect=401))
