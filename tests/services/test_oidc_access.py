"""Who may sign in to which service, into which tenant, with what (both databases): licences,
a partner agent on behalf of a customer (the ``act`` claim, the same access decision, refresh
decided again), a tenant's own apps, services posting their own health, and key rotation."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tenantry.core.config import Settings
from tenantry.identity import signing_keys
from tests.conftest import Agent, FakeClock, Org, accepted, make_org, make_partner, sign_in
from tests.services.oidc_helpers import (
    BASE,
    REDIRECT,
    Service,
    authorize,
    code_for,
    pkce,
    redeem,
    refresh,
    register,
    validated,
)


def _challenge() -> dict[str, str]:
    return {"code_challenge": pkce()[1], "code_challenge_method": "S256"}


def test_a_service_requiring_a_licence_refuses_an_unlicensed_user_with_a_page(
    client: TestClient, org: Org, sessions: sessionmaker[Session], settings: Settings
) -> None:
    service = register(sessions, settings, licence="business_standard")
    user_id = org.create_user()
    person = org.user_api()  # another user, never licensed
    refused = authorize(client, person.token, service, **_challenge())
    assert refused.status_code == 403
    assert "location" not in refused.headers
    assert refused.headers["content-type"].startswith("text/html")
    assert "licence" in refused.text
    sub = org.admin.post(
        f"{org.base}/subscriptions", {"sku_id": "business_standard", "seats": 1}, expect=201
    ).json()
    org.admin.post(
        f"{org.base}/subscriptions/{sub['id']}/licenses", {"user_id": user_id}, expect=201
    )
    licensed = sign_in(client, org.users[user_id])
    code, verifier = code_for(client, licensed.token, service)
    body = redeem(client, service, code, verifier).json()
    claims = validated(client, body["id_token"], service.client_id)
    assert "business_standard" in claims["licenses"] and "mail" in claims["licenses"]
    assert claims["roles"] == []
    # The licence taken away: the next refresh is refused.
    org.admin.delete(f"{org.base}/subscriptions/{sub['id']}/licenses/{user_id}")
    denied = org.admin.get(f"{org.base}/audit-events", params={"action": "oidc.sign_in"})
    assert any(e["outcome"] == "failure" for e in denied.json()["items"])
    again = refresh(client, service, body["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_refresh_is_refused_for_a_disabled_user(
    client: TestClient, org: Org, sessions: sessionmaker[Session], settings: Settings
) -> None:
    service = register(sessions, settings)
    user_id = org.create_user()
    person = sign_in(client, org.users[user_id])
    code, verifier = code_for(client, person.token, service)
    body = redeem(client, service, code, verifier).json()
    org.admin.patch(f"{org.base}/users/{user_id}", {"enabled": False})
    again = refresh(client, service, body["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_a_partner_agent_signs_in_on_behalf_with_an_act_claim_until_the_relationship_ends(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    partner = make_partner(client, sessions, settings, clock)
    customer = make_org(client, "Contoso")
    relationship = accepted(partner, customer)
    agent = Agent(partner)
    agent_id = agent.api.get("/me").json()["id"]
    service = register(sessions, settings, licence="business_premium")
    code, verifier = code_for(client, agent.api.token, service, tenant_id=customer.tenant_id)
    body = redeem(client, service, code, verifier).json()
    claims = validated(client, body["id_token"], service.client_id)
    assert claims["tid"] == customer.tenant_id
    assert claims["sub"] == agent_id
    assert claims["act"] == {
        "sub": agent_id,
        "tid": partner.org.tenant_id,
        "partner": partner.org.admin.get(f"/tenants/{partner.org.tenant_id}").json()["name"],
    }
    assert claims["roles"] == ["global_administrator"]
    assert claims["licenses"] == []  # administration, not a seat: no licence asked
    access = validated(client, body["access_token"], service.client_id)
    assert access["act"]["sub"] == agent_id
    # The customer's log shows it, naming the partner.
    events = customer.admin.get(
        f"{customer.base}/audit-events", params={"action": "oidc.sign_in"}
    ).json()["items"]
    assert any(
        e["partner_tenant_id"] == partner.org.tenant_id and e["actor"]["user_id"] == agent_id
        for e in events
    )
    renewed = refresh(client, service, body["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    info = client.get(
        "/oauth2/userinfo", headers={"Authorization": f"Bearer {renewed.json()['access_token']}"}
    ).json()
    assert info["act"]["sub"] == agent_id and info["roles"] == ["global_administrator"]
    # The customer ends the relationship: the refresh token is worth nothing now.
    customer.admin.delete(f"{customer.base}/partner-relationships/{relationship['id']}")
    ended = refresh(client, service, renewed.json()["refresh_token"])
    assert ended.status_code == 400 and ended.json()["error"] == "invalid_grant"
    # Userinfo decides again as well: the access token, not yet expired, says nothing more.
    bearer = {"Authorization": f"Bearer {renewed.json()['access_token']}"}
    assert client.get("/oauth2/userinfo", headers=bearer).status_code == 401
    # And no new sign-in on behalf: the customer does not exist for the agent any more.
    gone = authorize(client, agent.api.token, service, tenant_id=customer.tenant_id, **_challenge())
    assert gone.status_code == 404 and "location" not in gone.headers


def test_on_behalf_needs_access_and_a_sign_in_that_may_act_on_behalf(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    partner = make_partner(client, sessions, settings, clock)
    customer = make_org(client, "Contoso")
    stranger = make_org(client, "Tailspin")
    accepted(partner, customer)
    service = register(sessions, settings)
    # An agent whose sign-in proved no second factor: refused, explained, nothing issued.
    no_mfa = partner.agent(mfa=False)
    refused = authorize(client, no_mfa.token, service, tenant_id=customer.tenant_id, **_challenge())
    assert refused.status_code == 403 and "location" not in refused.headers
    assert "multi-factor authentication" in refused.text
    # A customer with no relationship: not found, as everywhere.
    agent = Agent(partner)
    unknown = authorize(
        client, agent.api.token, service, tenant_id=stranger.tenant_id, **_challenge()
    )
    assert unknown.status_code == 404 and "location" not in unknown.headers
    # A user of the customer's own can't name another tenant either.
    person = customer.user_api()
    other = authorize(client, person.token, service, tenant_id=stranger.tenant_id, **_challenge())
    assert other.status_code == 404


def test_a_tenants_app_signs_in_only_its_own_people_and_is_never_registered_on_behalf(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    partner = make_partner(client, sessions, settings, clock)
    customer = make_org(client, "Contoso")
    other = make_org(client, "Northwind")
    accepted(partner, customer)
    made = customer.admin.post(
        f"{customer.base}/oidc-apps",
        {"name": "Intranet", "redirect_uris": [REDIRECT]},
        expect=201,
    ).json()
    assert made["client_secret"].startswith("tnrysec_")
    app = Service(made["client_id"], made["client_secret"], "Intranet", None)
    listed = customer.admin.get(f"{customer.base}/oidc-apps").json()["items"]
    assert [a["client_id"] for a in listed] == [app.client_id]
    assert "client_secret" not in listed[0]
    # Its own people sign in.
    own = customer.user_api()
    code, verifier = code_for(client, own.token, app)
    assert redeem(client, app, code, verifier).status_code == 200
    # Another tenant's people: refused on our page, no code.
    stranger = authorize(client, other.admin.token, app, **_challenge())
    assert stranger.status_code == 404 and "location" not in stranger.headers
    # An agent: neither registers the customer's apps nor signs in to them on behalf.
    agent = Agent(partner)
    agent.api.post(
        f"{customer.base}/oidc-apps",
        {"name": "Backdoor", "redirect_uris": ["https://evil.example/cb"]},
        expect=403,
    )
    agent.api.get(f"{customer.base}/oidc-apps", expect=403)
    on_behalf = authorize(
        client, agent.api.token, app, tenant_id=customer.tenant_id, **_challenge()
    )
    assert on_behalf.status_code == 404
    # Another tenant's admin can't see or register them: the tenant does not exist for it.
    other.admin.get(f"{customer.base}/oidc-apps", expect=404)
    # A tenant's app has no service credential.
    no_credential = client.post(
        BASE + "/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "service.health"},
        auth=(app.client_id, app.secret or ""),
    )
    assert no_credential.status_code in (400, 401)


def _service_token(client: TestClient, service: Service) -> str:
    response = client.post(
        BASE + "/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "service.health"},
        auth=(service.client_id, service.secret or ""),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_a_service_posts_its_own_health_and_nobody_elses(
    client: TestClient, org: Org, sessions: sessionmaker[Session], settings: Settings
) -> None:
    mine, theirs = register(sessions, settings), register(sessions, settings)
    token = _service_token(client, mine)
    posted = client.post(
        f"/api/v1/services/{mine.service_id}/health",
        json={"status": "degraded", "message": "Slow sign-ins in EU"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert posted.status_code == 200, posted.text
    assert posted.json()["status"] == "degraded"
    seen = {s["name"]: s["status"] for s in org.admin.get(f"{org.base}/health").json()["services"]}
    assert seen[mine.name] == "degraded"
    other = client.post(
        f"/api/v1/services/{theirs.service_id}/health",
        json={"status": "incident"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert other.status_code == 403
    # A person's token, or none, is no service credential.
    for headers in ({"Authorization": f"Bearer {org.admin.token}"}, {}):
        assert (
            client.post(
                f"/api/v1/services/{mine.service_id}/health",
                json={"status": "healthy"},
                headers=headers,
            ).status_code
            == 401
        )
    # A person's access token for the service is not its credential either.
    code, verifier = code_for(client, org.admin.token, mine)
    access = redeem(client, mine, code, verifier).json()["access_token"]
    assert (
        client.post(
            f"/api/v1/services/{mine.service_id}/health",
            json={"status": "healthy"},
            headers={"Authorization": f"Bearer {access}"},
        ).status_code
        == 403
    )
    # Any other scope is refused.
    wrong = client.post(
        BASE + "/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "openid"},
        auth=(mine.client_id, mine.secret or ""),
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_scope"


def test_tokens_signed_before_a_key_rotation_still_validate_until_the_key_retires(
    client: TestClient, org: Org, sessions: sessionmaker[Session], settings: Settings
) -> None:
    service = register(sessions, settings)
    code, verifier = code_for(client, org.admin.token, service)
    before = redeem(client, service, code, verifier).json()["id_token"]
    with sessions.begin() as session:
        signing_keys.rotate(session, settings, client.app.state.clock())  # type: ignore[attr-defined]
    assert validated(client, before, service.client_id)["sub"] == org.admin_id
    code, verifier = code_for(client, org.admin.token, service)
    after = redeem(client, service, code, verifier).json()["id_token"]
    validated(client, after, service.client_id)
    from joserfc import jws

    kid_before = jws.extract_compact(before.encode()).headers()["kid"]
    kid_after = jws.extract_compact(after.encode()).headers()["kid"]
    assert kid_before != kid_after
    kids = [k["kid"] for k in client.get("/oauth2/jwks").json()["keys"]]
    assert kid_before in kids and kid_after in kids
    assert all("d" not in k for k in client.get("/oauth2/jwks").json()["keys"])
    # A second rotation retires the first key: what it signed no longer validates.
    with sessions.begin() as session:
        signing_keys.rotate(session, settings, client.app.state.clock())  # type: ignore[attr-defined]
    kids = [k["kid"] for k in client.get("/oauth2/jwks").json()["keys"]]
    assert kid_before not in kids and kid_after in kids
    validated(client, after, service.client_id)
