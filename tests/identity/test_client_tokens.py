"""Tokens of API clients from POST /oauth2/token (OAuth 2.0 client credentials, Authlib):
a secret (client_secret_basic, client_secret_post) or a signed assertion (private_key_jwt,
RFC 7523), every refusal as RFC 6749 §5.2 JSON; tokens short-lived, looked up on every
request, refused at once when the client is disabled, deleted, expired or called from outside
its networks; the previous secret kept only for the overlap."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from tenantry.app import create_app
from tests.conftest import Api, FakeClock, Org, settings_for

TOKEN_URL = "https://testserver/oauth2/token"
AUDIENCE = "http://127.0.0.1:8000/oauth2/token"  # TENANTRY_PUBLIC_URL's default + the path


def tenant_client(org: Org, roles: tuple[str, ...] = ("user_administrator",), **body: Any) -> dict:
    payload = {"name": f"App {uuid.uuid4().hex[:8]}", "roles": list(roles), **body}
    return dict(org.admin.post(f"{org.base}/api-clients", payload, expect=201).json())


def get_token(
    http: TestClient, client_id: str, secret: str, *, post: bool = False, **form: str
) -> httpx.Response:
    data = {"grant_type": "client_credentials", **form}
    if post:
        data |= {"client_id": client_id, "client_secret": secret}
        return http.post(TOKEN_URL, data=data)
    return http.post(TOKEN_URL, data=data, auth=(client_id, secret))


def assertion(
    key: Any, client_id: str, clock: FakeClock, *, aud: str = AUDIENCE, ttl: int = 300, **over: Any
) -> str:
    now = int(clock().timestamp())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
        **over,
    }
    alg = "ES256" if isinstance(key, ECKey) else "RS256"
    return jwt.encode({"alg": alg}, claims, key)


def jwt_token(http: TestClient, signed: str, **form: str) -> httpx.Response:
    return http.post(
        TOKEN_URL,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": signed,
            **form,
        },
    )


def refused(response: httpx.Response, error: str = "invalid_client", status: int = 401) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    assert response.headers["cache-control"] == "no-store"
    return str(body.get("error_description", ""))


def bearer(client: TestClient, token: str) -> Api:
    return Api(client, token)


def test_a_secret_gets_a_short_lived_token_that_acts_with_the_clients_roles(
    client: TestClient, org: Org
) -> None:
    made = tenant_client(org)
    for post in (False, True):
        issued = get_token(client, made["client_id"], made["client_secret"], post=post)
        assert issued.status_code == 200, issued.text
        body = issued.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 900
        assert body["access_token"].startswith("tnryapp_")
        assert issued.headers["cache-control"] == "no-store"
    app = bearer(client, body["access_token"])
    created = app.post(
        f"{org.base}/users",
        {"user_principal_name": f"hired@{org.domain}", "display_name": "Hired"},
        expect=201,
    ).json()
    refused_ = app.post(
        f"{org.base}/role-assignments",
        {"role": "global_reader", "user_id": created["id"]},
        expect=403,
    )
    assert (
        "app '" in refused_.json()["detail"] and "User Administrator" in refused_.json()["detail"]
    )
    events = org.admin.get(f"{org.base}/audit-events?action=user.create").json()["items"]
    actor = events[0]["actor"]
    assert actor["user_id"] is None and actor["user_principal_name"] is None
    assert actor["client_id"] == made["id"]
    assert (
        actor["client_name"] == f"app '{made['name']}' of {org.admin.get(org.base).json()['name']}"
    )
    issued_events = org.admin.get(f"{org.base}/audit-events?action=api_client.token").json()
    assert {e["outcome"] for e in issued_events["items"]} == {"success"}
    fetched = org.admin.get(f"{org.base}/api-clients/{made['id']}").json()
    assert fetched["last_used_at"] is not None


def test_a_private_key_jwt_gets_a_token_and_its_assertion_is_spent_once(
    client: TestClient, org: Org, clock: FakeClock
) -> None:
    key = RSAKey.generate_key(2048)
    made = tenant_client(org, public_jwk=key.as_dict(private=False))
    assert made["client_secret"] is None and made["credential"] == "private_key_jwt"
    signed = assertion(key, made["client_id"], clock)
    issued = jwt_token(client, signed)
    assert issued.status_code == 200, issued.text
    bearer(client, issued.json()["access_token"]).get(f"{org.base}/users")
    assert "used before" in refused(jwt_token(client, signed))
    # The same with an EC key, and client_id in the form as well.
    ec = ECKey.generate_key("P-256")
    made_ec = tenant_client(org, public_jwk=ec.as_dict(private=False))
    ok = jwt_token(
        client, assertion(ec, made_ec["client_id"], clock), client_id=made_ec["client_id"]
    )
    assert ok.status_code == 200, ok.text


def test_assertions_that_do_not_hold_are_refused(
    client: TestClient, org: Org, clock: FakeClock
) -> None:
    key = RSAKey.generate_key(2048)
    made = tenant_client(org, public_jwk=key.as_dict(private=False))
    cid = made["client_id"]
    other_key = RSAKey.generate_key(2048)
    cases = {
        "another key": assertion(other_key, cid, clock),
        "another audience": assertion(key, cid, clock, aud="https://elsewhere.example/token"),
        "expired": assertion(key, cid, clock, ttl=-120),
        "too long": assertion(key, cid, clock, ttl=2 * 3600),
        "iss is not sub": assertion(key, cid, clock, iss="someone-else"),
        "no jti": jwt.encode(
            {"alg": "RS256"},
            {"iss": cid, "sub": cid, "aud": AUDIENCE, "exp": int(clock().timestamp()) + 60},
            key,
        ),
        "unknown client": assertion(key, "tnryc_000000000000000000000000", clock),
        "an HMAC": jwt.encode(
            {"alg": "HS256"},
            {"iss": cid, "sub": cid, "aud": AUDIENCE, "exp": int(clock().timestamp()) + 60},
            OctKey.import_key("a" * 32),
        ),
    }
    for why, signed in cases.items():
        response = jwt_token(client, signed)
        assert response.status_code == 401, (why, response.text)
        assert response.json()["error"] == "invalid_client", why
    # A key client has no secret to use, and a secret client can't sign.
    secret_client = tenant_client(org)
    refused(jwt_token(client, assertion(key, secret_client["client_id"], clock)))
    refused(get_token(client, cid, "tnrysec_guess"))
    # The client_id in the form must be the assertion's.
    refused(jwt_token(client, assertion(key, cid, clock), client_id=secret_client["client_id"]))


def test_requests_that_are_not_right_get_oauth_errors(client: TestClient, org: Org) -> None:
    made = tenant_client(org)
    cid, secret = made["client_id"], made["client_secret"]
    wrong = get_token(client, cid, secret[:-2] + "xx")
    refused(wrong)
    assert wrong.headers["www-authenticate"].startswith("Basic")
    refused(get_token(client, cid, secret[:-2] + "xx", post=True))
    refused(get_token(client, "tnryc_nobody", secret))
    refused(client.post(TOKEN_URL, data={"grant_type": "client_credentials"}))
    refused(
        client.post(
            TOKEN_URL,
            data={"grant_type": "client_credentials", "client_id": cid, "client_secret": secret},
            auth=(cid, secret),
        ),
        "invalid_request",
        400,
    )
    refused(
        client.post(TOKEN_URL, data={"grant_type": "password"}, auth=(cid, secret)),
        "unsupported_grant_type",
        400,
    )
    refused(get_token(client, cid, secret, scope="admin"), "invalid_scope", 400)
    refused(
        client.post(TOKEN_URL, json={"grant_type": "client_credentials"}, auth=(cid, secret)),
        "invalid_request",
        400,
    )
    # Secrets cross only TLS (or loopback).
    plain = client.post(
        "http://testserver/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(cid, secret),
    )
    refused(plain, "insecure_transport", 400)
    failures = org.admin.get(f"{org.base}/audit-events?action=api_client.token&outcome=failure")
    # Audited where a known client was named: the two wrong secrets and the scope.
    assert len(failures.json()["items"]) == 3
    assert all(e["actor"]["client_id"] is None for e in failures.json()["items"])


def test_a_disabled_client_loses_its_tokens_at_once(client: TestClient, org: Org) -> None:
    made = tenant_client(org)
    token = get_token(client, made["client_id"], made["client_secret"]).json()["access_token"]
    app = bearer(client, token)
    app.get(f"{org.base}/users")
    org.admin.patch(f"{org.base}/api-clients/{made['id']}", {"enabled": False})
    assert app.get(f"{org.base}/users", expect=401).json()["type"].endswith("invalid-token")
    assert "disabled" in refused(get_token(client, made["client_id"], made["client_secret"]))
    # Enabled again: a new token works, the old one stays revoked.
    org.admin.patch(f"{org.base}/api-clients/{made['id']}", {"enabled": True})
    app.get(f"{org.base}/users", expect=401)
    fresh = get_token(client, made["client_id"], made["client_secret"]).json()["access_token"]
    bearer(client, fresh).get(f"{org.base}/users")


def test_a_deleted_client_loses_its_tokens_at_once(client: TestClient, org: Org) -> None:
    made = tenant_client(org)
    token = get_token(client, made["client_id"], made["client_secret"]).json()["access_token"]
    org.admin.delete(f"{org.base}/api-clients/{made['id']}")
    bearer(client, token).get(f"{org.base}/users", expect=401)
    refused(get_token(client, made["client_id"], made["client_secret"]))


def test_an_expired_client_and_an_expired_token_are_refused(
    client: TestClient, org: Org, clock: FakeClock
) -> None:
    ends = (clock() + __import__("datetime").timedelta(hours=1)).isoformat()
    made = tenant_client(org, expires_at=ends)
    token = get_token(client, made["client_id"], made["client_secret"]).json()["access_token"]
    app = bearer(client, token)
    clock.advance(minutes=14)
    app.get(f"{org.base}/users")
    clock.advance(minutes=2)  # past the token's 15 minutes
    app.get(f"{org.base}/users", expect=401)
    token = get_token(client, made["client_id"], made["client_secret"]).json()["access_token"]
    clock.advance(minutes=50)  # past the client's end
    bearer(client, token).get(f"{org.base}/users", expect=401)
    assert "expired" in refused(get_token(client, made["client_id"], made["client_secret"]))


def test_allowed_networks_are_checked_at_the_token_and_on_every_request(app: Any, org: Org) -> None:
    made = tenant_client(org, allowed_ips=["198.51.100.0/24"])
    inside = TestClient(app, client=("198.51.100.7", 40000))
    outside = TestClient(app, client=("203.0.113.9", 40000))
    assert "203.0.113.9" in refused(get_token(outside, made["client_id"], made["client_secret"]))
    token = get_token(inside, made["client_id"], made["client_secret"]).json()["access_token"]
    bearer(inside, token).get(f"{org.base}/users")
    moved = bearer(outside, token).get(f"{org.base}/users", expect=403).json()
    assert moved["type"] == "urn:tenantry:problem:address-not-allowed"
    # Networks changed: the next request follows.
    org.admin.patch(f"{org.base}/api-clients/{made['id']}", {"allowed_ips": ["203.0.113.0/24"]})
    bearer(inside, token).get(f"{org.base}/users", expect=403)
    bearer(outside, token).get(f"{org.base}/users")


def test_the_previous_secret_works_during_the_overlap_only(
    client: TestClient, org: Org, clock: FakeClock
) -> None:
    made = tenant_client(org)
    old = made["client_secret"]
    new = org.admin.post(
        f"{org.base}/api-clients/{made['id']}/secret", {"overlap_seconds": 3600}, expect=200
    ).json()["client_secret"]
    for secret in (old, new):
        assert get_token(client, made["client_id"], secret).status_code == 200
    clock.advance(minutes=61)
    refused(get_token(client, made["client_id"], old))
    assert get_token(client, made["client_id"], new).status_code == 200
    # No overlap: the secret and the tokens it got end now.
    token = get_token(client, made["client_id"], new).json()["access_token"]
    newer = org.admin.post(
        f"{org.base}/api-clients/{made['id']}/secret", {"overlap_seconds": 0}, expect=200
    ).json()["client_secret"]
    refused(get_token(client, made["client_id"], new))
    bearer(client, token).get(f"{org.base}/users", expect=401)
    assert get_token(client, made["client_id"], newer).status_code == 200


def test_a_client_is_not_a_person(client: TestClient, org: Org) -> None:
    made = tenant_client(org, roles=("user_administrator",))
    token = get_token(client, made["client_id"], made["client_secret"]).json()["access_token"]
    app = bearer(client, token)
    for method, path, body in (
        ("GET", "/me", None),
        ("POST", "/me/password", {"current_password": "x" * 12, "new_password": "y" * 14}),
        ("POST", "/me/mfa/totp", {"password": "x" * 12}),
        ("POST", "/me/mfa/totp/confirm", {"code": "123456"}),
    ):
        problem = app.request(method, path, 403, **({"json": body} if body else {})).json()
        assert problem["type"] == "urn:tenantry:problem:user-required", path
        assert "is an API client" in problem["detail"]
    # Nor may it manage API clients (that needs roles.assign, which it can't hold).
    app.post(f"{org.base}/api-clients", {"name": "Child", "roles": ["global_reader"]}, expect=403)
    # The web never takes an app's token as a session.
    client.cookies.set("tenantry_session", token)
    try:
        page = client.get(f"/admin/{org.tenant_id}", follow_redirects=False)
        assert page.status_code in (302, 303) and "/sign-in" in page.headers["location"]
    finally:
        client.cookies.clear()
    app.post("/auth/logout", expect=204)
    app.get(f"{org.base}/users", expect=401)


@pytest.mark.parametrize("lifetime", [120])
def test_the_token_lifetime_is_a_setting(
    org: Org, settings: Any, clock: FakeClock, lifetime: int
) -> None:
    from tenantry.app import create_app

    app = create_app(settings.model_copy(update={"client_token_lifetime_seconds": lifetime}), clock)
    try:
        http = TestClient(app)
        made = tenant_client(org)
        issued = get_token(http, made["client_id"], made["client_secret"]).json()
        assert issued["expires_in"] == lifetime
    finally:
        app.state.engine.dispose()


def test_a_client_raises_and_comments_on_service_requests(client: TestClient, org: Org) -> None:
    made = tenant_client(org, roles=("service_support_administrator",))
    token = get_token(client, made["client_id"], made["client_secret"]).json()["access_token"]
    app = bearer(client, token)
    raised = app.post(
        f"{org.base}/service-requests", {"title": "Disk full", "description": "Alert"}, expect=201
    ).json()
    app.post(f"{org.base}/service-requests/{raised['id']}/comments", {"body": "Auto"}, expect=201)
    comments = org.admin.get(f"{org.base}/service-requests/{raised['id']}/comments").json()
    assert made["name"] in str(comments)


def test_failed_client_authentications_are_throttled_per_address(
    database_url: str, tmp_path: Path, clock: FakeClock, org: Org
) -> None:
    """The token endpoint is a sign-in for apps: wrong secrets for a known client_id (which is
    not a secret) are counted per address like a person's failed sign-ins, so that nobody can
    write the organisation's audit chain (and hold its lock) without end; the app itself,
    calling from elsewhere, is not locked out."""
    made = tenant_client(org)
    wrong = "tnrysec_" + "x" * 43
    tight = create_app(settings_for(database_url, tmp_path, throttle_address_failures=3), clock)
    with TestClient(tight, client=("127.0.9.77", 40000)) as near:
        for _ in range(3):
            refused(get_token(near, made["client_id"], wrong))
        locked = get_token(near, made["client_id"], wrong)
        assert locked.status_code == 429, locked.text
        assert locked.json()["error"] == "invalid_request"
        assert int(locked.headers["retry-after"]) > 0
        # Even the right secret waits out the lockout from this address.
        assert get_token(near, made["client_id"], made["client_secret"]).status_code == 429
    with TestClient(tight, client=("127.0.9.78", 40000)) as elsewhere:
        assert get_token(elsewhere, made["client_id"], made["client_secret"]).status_code == 200
    tight.state.engine.dispose()
    failures = org.admin.get(
        f"{org.base}/audit-events?action=api_client.token&outcome=failure&limit=200"
    ).json()["items"]
    assert len(failures) == 3
