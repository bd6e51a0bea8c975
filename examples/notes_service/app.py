"""Notes: a small service that signs people in with Tenantry (OpenID Connect, code + PKCE),
shows who they are (tenant, roles, licences, a partner acting on behalf), needs a licence,
and posts its own health with its own credential.

Register it once (the operator)::

    tenantry service register Notes \\
        --redirect-uri http://localhost:8001/callback \\
        --post-logout-redirect-uri http://localhost:8001/ \\
        --require-license business_standard

then run it with what that printed::

    TENANTRY_URL=http://127.0.0.1:8000 NOTES_CLIENT_ID=tnrys_... NOTES_CLIENT_SECRET=tnrysec_... \\
    NOTES_SERVICE_ID=notes uvicorn --app-dir examples/notes_service app:app --port 8001

Everything protocol-shaped is Authlib's client: discovery, PKCE, nonce and state, the code
exchange, checking the ID token's signature against Tenantry's JWKS and its claims.
"""

from __future__ import annotations

import html
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.integrations.starlette_client import OAuth
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

TENANTRY = os.environ.get("TENANTRY_URL", "http://127.0.0.1:8000").rstrip("/")
CLIENT_ID = os.environ.get("NOTES_CLIENT_ID", "")
CLIENT_SECRET = os.environ.get("NOTES_CLIENT_SECRET", "")
SERVICE_ID = os.environ.get("NOTES_SERVICE_ID", "notes")
# Tenantry refuses a person without it before any code is issued; the service checks the
# claim as well (defence in depth). A partner acting on behalf administers, holds no seat.
REQUIRED_LICENSE = os.environ.get("NOTES_REQUIRED_LICENSE", "business_standard")
STARTUP_STATUS = os.environ.get("NOTES_STATUS", "healthy")

oauth = OAuth()
oauth.register(
    "tenantry",
    client_id=CLIENT_ID,
    client_secret=CLIENT_SECRET,
    server_metadata_url=f"{TENANTRY}/.well-known/openid-configuration",
    client_kwargs={"scope": "openid profile", "code_challenge_method": "S256"},
)


async def post_health(status: str, message: str) -> None:
    """The service's own credential (client credentials, scope service.health) posts its
    health to Tenantry: customers see it on their health page."""
    async with AsyncOAuth2Client(CLIENT_ID, CLIENT_SECRET, scope="service.health") as client:
        await client.fetch_token(f"{TENANTRY}/oauth2/token", grant_type="client_credentials")
        response = await client.post(
            f"{TENANTRY}/api/v1/services/{SERVICE_ID}/health",
            json={"status": status, "message": message},
        )
        response.raise_for_status()


def page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><title>Notes</title></head><body>{body}</body></html>",
        status_code=status,
    )


async def home(request: Request) -> Response:
    user: dict[str, Any] | None = request.session.get("user")
    if user is None:
        return page('<h1>Notes</h1><p><a href="/login">Sign in with Tenantry</a></p>')
    act = user.get("act")
    on_behalf = (
        f"<p id='act'>On behalf: {html.escape(str(act['partner']))} (agent {act['sub']})</p>"
        if act
        else ""
    )
    return page(
        f"<h1>Notes of {html.escape(user['name'])}</h1>"
        f"<p id='tid'>Tenant: {html.escape(user['tid'])}</p>"
        f"<p id='roles'>Roles: {html.escape(', '.join(user['roles']) or 'none')}</p>"
        f"<p id='licenses'>Licences: {html.escape(', '.join(user['licenses']) or 'none')}</p>"
        f"{on_behalf}<p><a href='/logout'>Sign out</a></p>"
    )


async def login(request: Request) -> Response:
    """To Tenantry's sign-in; ``?tenant_id=`` lets a partner agent sign in on behalf of that
    customer."""
    extra = {}
    if request.query_params.get("tenant_id"):
        extra["tenant_id"] = request.query_params["tenant_id"]
    redirect_uri = str(request.url_for("callback"))
    response: Response = await oauth.tenantry.authorize_redirect(request, redirect_uri, **extra)
    return response


async def callback(request: Request) -> Response:
    # Authlib exchanges the code (with the PKCE verifier) and checks the ID token: signature
    # against the JWKS, issuer, audience, expiry, nonce.
    token = await oauth.tenantry.authorize_access_token(request)
    claims = token["userinfo"]
    if REQUIRED_LICENSE not in claims.get("licenses", []) and not claims.get("act"):
        return page("<h1>No licence</h1><p>Ask your administrator for one.</p>", 403)
    request.session["user"] = {
        "name": claims.get("name") or claims["sub"],
        "tid": claims["tid"],
        "roles": claims.get("roles", []),
        "licenses": claims.get("licenses", []),
        "act": claims.get("act"),
    }
    request.session["id_token"] = token["id_token"]
    return RedirectResponse("/", status_code=303)


async def logout(request: Request) -> Response:
    """Sign out here and at Tenantry (RP-initiated logout), then back to the home page."""
    id_token = request.session.get("id_token")
    request.session.clear()
    if not id_token:
        return RedirectResponse("/", status_code=303)
    metadata = await oauth.tenantry.load_server_metadata()
    query = urlencode(
        {"id_token_hint": id_token, "post_logout_redirect_uri": str(request.url_for("home"))}
    )
    return RedirectResponse(f"{metadata['end_session_endpoint']}?{query}", status_code=303)


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    await post_health(STARTUP_STATUS, f"Notes started ({STARTUP_STATUS}).")
    yield


app = Starlette(
    routes=[
        Route("/", home, name="home"),
        Route("/login", login),
        Route("/callback", callback, name="callback"),
        Route("/logout", logout),
        Route("/healthz", healthz),
    ],
    middleware=[
        Middleware(
            SessionMiddleware,
            secret_key=os.environ.get("NOTES_SESSION_SECRET") or secrets.token_urlsafe(32),
            same_site="lax",
        )
    ],
    lifespan=lifespan,
)
