"""The OpenID Connect provider against the ASGI app (both databases): code + PKCE, the ID and
access tokens and their claims, refresh with rotation and reuse detection, userinfo, logout,
and every way a request is refused."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tenantry.core.config import Settings
from tests.conftest import Org
from tests.services.oidc_helpers import (
    AFTER_LOGOUT,
    BASE,
    authorize,
    code_for,
    pkce,
    redeem,
    refresh,
    register,
    returned,
    validated,
)


def test_code_with_pkce_gives_id_and_access_tokens_with_tenantry_claims(
    client: TestClient, org: Org, sessions: sessionmaker[Session], settings: Settings
) -> None:
    service = register(sessions, settings)
    verifier, challenge = pkce()
    response = authorize(
        client,
        org.admin.token,
        service,
        code_challenge=challenge,
        code_challenge_method="S256",
        state="s-1",
        nonce="n-1",
    )
    back = returned(response)
    assert back["state"] == "s-1"
    tokens = redeem(client, service, back["code"], verifier)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    claims = validated(client, body["id_token"], service.client_id)
    assert claims["sub"] == org.admin_id
    assert claims["tid"] == org.tenant_id
    assert claims["nonce"] == "n-1"
    assert "global_administrator" in claims["roles"]
    assert claims["licenses"] == []
    assert claims["preferred_username"] == org.admin_upn
    assert "act" not in claims
    access = validated(client, body["access_token"], service.client_id)
    assert access["tid"] == org.tenant_id and access["client_id"] == service.client_id
    info = client.get(
        "/oauth2/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == org.admin_id and info.json()["tid"] == org.tenant_id

    # Refresh rotates: the new pair works, the spent token used again revokes the family.
    first = body["refresh_token"]
    renewed = refresh(client, service, first)
    assert renewed.status_code == 200, renewed.text
    second = renewed.json()["refresh_token"]
    assert second != first
    assert validated(client, renewed.json()["access_token"], service.client_id)["tid"] == (
        org.tenant_id
    )
    reused = refresh(client, service, first)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert refresh(client, service, second).json()["error"] == "invalid_grant"


def test_replayed_code_is_refused_and_revokes_what_it_gave(
    client: TestClient, org: Org, sessions: sessionmaker[Session], settings: Settings
) -> None:
    service = register(sessions, settings)
    code, verifier = code_for(client, org.admin.token, service)
    first = redeem(client, service, code, verifier)
    assert first.status_code == 200
    again = redeem(client, service, code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert refresh(client, service, first.json()["refresh_token"]).status_code == 400


def test_two_parallel_redemptions_of_one_code_give_one_token(
    client: TestClient, org: Org, sessions: sessionmaker[Session], settings: Settings
) -> None:
    service = register(sessions, settings)
    for _ in range(3):
        code, verifier = code_for(client, org.admin.token, service)
        with ThreadPoolExecutor(max_workers=2) as pool:
            pending = [pool.submit(redeem, client, service, code, verifier) for _ in range(2)]
            answers = [p.result() for p in pending]
        assert sorted(a.status_code for a in answers) == [200, 400], [a.text for a in answers]


def test_pkce_is_required_and_checked(
    client: TestClient, org: Org, sessions: sessionmaker[Session], settings: Settings
) -> None:
    service = register(sessions, settings)
    # No code_challenge: the error goes back to the (registered) redirect URI, no code.
    missing = returned(authorize(client, org.admin.token, service))
    assert missing["error"] == "invalid_request" and "code" not in missing
    verifier, _ = pkce()
    plain = returned(
        authorize(
            client,
            org.admin.token,
            service,
            code_challenge=verifier,
            code_challenge_method="plain",
        )
    )
    assert plain["error"] == "invalid_request"
    code, verifier = code_for(client, org.admin.token, service)
    no_verifier = redeem(client, service, code, None)
    assert no_verifier.status_code == 400 and no_verifier.json()["error"] == "invalid_request"
    code, verifier = code_for(client, org.admin.token, service)
    wrong = redeem(client, service, code, pkce()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    # A failed verifier spent the code: the right one is too late.
    assert redeem(client, service, code, verifier).status_code == 400


def test_an_unregistered_redirect_uri_is_never_redirected_to(
    client: TestClient, org: Org, sessions: sessionmaker[Session], settings: Settings
) -> None:
    service = register(sessions, settings)
    _, challenge = pkce()
    for uri in (
        "https://evil.example/callback",
        "https://service.example/callback/../steal",
        "https://service.example/callback?x=1",
        "https://service.example/CALLBACK",
    ):
        response = authorize(
            client,
            org.admin.token,
            service,
            redirect_uri=uri,
            code_challenge=challenge,
            code_challenge_method="S256",
        )
        assert response.status_code == 400, uri
        assert "location" not in response.headers
        assert "not sent back" in response.text
    # An unknown client: our page as well.
    response = authorize(client, org.admin.token, service, client_id="tnrys_nobody")
    assert response.status_code == 400 and "location" not in response.headers
    # The code is bound to the redirect URI it was issued for.
    code, verifier = code_for(client, org.admin.token, service)
    mismatch = client.post(
        BASE + "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": "https://service.example/other",
        },
        auth=(service.client_id, service.secret or ""),
    )
    assert mismatch.status_code == 400 and mismatch.json()["error"] == "invalid_grant"


def test_without_a_session_authorize_goes_to_our_sign_in_and_next_stays_on_site(
    client: TestClient, org: Org, sessions: sessionmaker[Session], settings: Settings
) -> None:
    service = register(sessions, settings)
    _, challenge = pkce()
    response = authorize(
        client, None, service, code_challenge=challenge, code_challenge_method="S256"
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in?next=%2Foauth2%2Fauthorize%3F")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        page = client.get(
            "/sign-in",
            params={"next": target},
            headers={"Cookie": f"tenantry_session={org.admin.token}"},
            follow_redirects=False,
        )
        assert page.status_code == 303 and page.headers["location"] == "/", target


def test_logout_ends_the_session_and_returns_only_to_a_registered_uri(
    client: TestClient, org: Org, sessions: sessionmaker[Session], settings: Settings
) -> None:
    service = register(sessions, settings)
    session = org.user_api().token
    code, verifier = code_for(client, session, service)
    body = redeem(client, service, code, verifier).json()
    cookie = {"Cookie": f"tenantry_session={session}"}
    refused = client.get(
        BASE + "/oauth2/logout",
        params={
            "id_token_hint": body["id_token"],
            "post_logout_redirect_uri": "https://evil.example/",
        },
        headers=cookie,
        follow_redirects=False,
    )
    assert refused.status_code == 400 and "location" not in refused.headers
    done = client.get(
        BASE + "/oauth2/logout",
        params={
            "id_token_hint": body["id_token"],
            "post_logout_redirect_uri": AFTER_LOGOUT,
            "state": "bye",
        },
        headers=cookie,
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == AFTER_LOGOUT + "?state=bye"
    # The Tenantry session is over, and so is the service's refresh token of that sign-in.
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {session}"}).status_code == 401
    )
    assert refresh(client, service, body["refresh_token"]).status_code == 400


def test_a_public_client_uses_pkce_alone_and_never_a_secret(
    client: TestClient, org: Org, sessions: sessionmaker[Session], settings: Settings
) -> None:
    service = register(sessions, settings, public=True)
    assert service.secret is None
    code, verifier = code_for(client, org.admin.token, service)
    tokens = redeem(client, service, code, verifier)
    assert tokens.status_code == 200, tokens.text
    assert validated(client, tokens.json()["id_token"], service.client_id)["tid"] == org.tenant_id
    renewed = refresh(client, service, tokens.json()["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    # Another client can't redeem its code, nor use its refresh token.
    confidential = register(sessions, settings)
    code, verifier = code_for(client, org.admin.token, service)
    stolen = redeem(client, confidential, code, verifier)
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert redeem(client, service, code, verifier).status_code == 200
    taken = refresh(client, confidential, renewed.json()["refresh_token"])
    assert taken.status_code == 400
    # ... and trying did not spend it for its rightful client.
    assert refresh(client, service, renewed.json()["refresh_token"]).status_code == 200
