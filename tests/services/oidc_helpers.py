"""What the OpenID Connect tests share: registering a service, PKCE, the authorize step with
a signed-in session's cookie, redeeming a code, and checking a token against the JWKS."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session, sessionmaker

from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.identity import relying_parties
from tenantry.web.session import SESSION_COOKIE
from tests.conftest import unique_label

BASE = "https://testserver"  # OAuth requests must use TLS (or loopback)
REDIRECT = "https://service.example/callback"
AFTER_LOGOUT = "https://service.example/signed-out"


@dataclass
class Service:
    client_id: str
    secret: str | None
    name: str
    service_id: str | None


def register(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    licence: str | None = None,
    public: bool = False,
    redirect: str = REDIRECT,
) -> Service:
    name = unique_label("Svc ")
    with sessions.begin() as session:
        made = relying_parties.register_platform_service(
            Context(session=session, settings=settings),
            name,
            [redirect],
            [AFTER_LOGOUT],
            licence,
            public,
        )
        return Service(made.party.client_id, made.secret, name, made.party.service_id)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


def authorize(
    client: TestClient, session_token: str | None, service: Service, **params: str
) -> Any:
    query = {
        "response_type": "code",
        "client_id": service.client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid profile",
        "state": "st-" + secrets.token_hex(4),
        "nonce": "n-" + secrets.token_hex(4),
        **params,
    }
    query = {k: v for k, v in query.items() if v != ""}
    headers = {"Cookie": f"{SESSION_COOKIE}={session_token}"} if session_token else {}
    return client.get(
        BASE + "/oauth2/authorize?" + urlencode(query), headers=headers, follow_redirects=False
    )


def returned(response: Any) -> dict[str, str]:
    """The query of the redirect back to the service."""
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def code_for(client: TestClient, token: str, service: Service, **params: str) -> tuple[str, str]:
    """A code (and its verifier) for the person of ``token``."""
    verifier, challenge = pkce()
    response = authorize(
        client, token, service, code_challenge=challenge, code_challenge_method="S256", **params
    )
    return returned(response)["code"], verifier


def redeem(client: TestClient, service: Service, code: str, verifier: str | None) -> Any:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    if verifier is not None:
        form["code_verifier"] = verifier
    auth = None
    if service.secret is None:
        form["client_id"] = service.client_id
    else:
        auth = (service.client_id, service.secret)
    return client.post(BASE + "/oauth2/token", data=form, auth=auth)


def refresh(client: TestClient, service: Service, refresh_token: str) -> Any:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    auth = None
    if service.secret is None:
        form["client_id"] = service.client_id
    else:
        auth = (service.client_id, service.secret)
    return client.post(BASE + "/oauth2/token", data=form, auth=auth)


def validated(client: TestClient, token: str, audience: str) -> dict[str, Any]:
    """The claims of a token checked as a service checks them: the JWKS, the issuer, the
    audience, the expiry."""
    keys = KeySet.import_key_set(client.get("/oauth2/jwks").json())
    decoded = jwt.decode(token, keys, algorithms=["RS256"])
    issuer = client.get("/.well-known/openid-configuration").json()["issuer"]
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        exp={"essential": True},
    ).validate(decoded.claims)
    return dict(decoded.claims)


def signed_in_session(api_token: str) -> str:
    """An API sign-in's token is a Tenantry session like the web's (the cookie holds one)."""
    return api_token
