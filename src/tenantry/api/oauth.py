"""The OAuth 2.0 and OpenID Connect endpoints over Starlette: Authlib's authorization server
(``identity.oauth``, with the OpenID Connect grants of ``identity.oidc``) given Starlette's
request, answering with Starlette's response.

``POST /oauth2/token``, ``/oauth2/jwks``, ``/oauth2/userinfo`` and
``/.well-known/openid-configuration`` sit at the root, not under /api/v1: OAuth clients find
them by their own conventions. (``/oauth2/authorize`` and the end-session endpoint are web
pages: ``web/routes/oidc.py``.) Its answers are RFC 6749 JSON,
never problem documents; in one transaction like every route (the token, a spent assertion
and the audit commit together).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from authlib.oauth2.rfc6749 import InsecureTransportError, InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc6749.requests import OAuth2Payload, OAuth2Request
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, ImmutableMultiDict

from tenantry.api.deps import new_context
from tenantry.api.routing import TransactionalRoute
from tenantry.core.errors import ServiceError, TooManyRequests
from tenantry.identity import oauth, oidc, signing_keys, throttle

FORM = "application/x-www-form-urlencoded"

api = APIRouter(route_class=TransactionalRoute, include_in_schema=False, tags=["oauth"])


class FormPayload(OAuth2Payload):
    """The request's form fields (never its query string: credentials stay out of URLs)."""

    def __init__(self, form: FormData | ImmutableMultiDict[str, str]) -> None:
        self._form = form

    @property
    def data(self) -> dict[str, Any]:
        return {key: value for key, value in self._form.items() if isinstance(value, str)}

    @property
    def datalist(self) -> defaultdict[str, list[Any]]:
        values: defaultdict[str, list[Any]] = defaultdict(list)
        for key, value in self._form.multi_items():
            values[key].append(value)
        return values


class StarletteOAuth2Request(OAuth2Request):
    """A token request reads its form; an authorization request (GET) its query string."""

    def __init__(self, request: Request, form: FormData | None = None) -> None:
        super().__init__(method=request.method, uri=str(request.url), headers=request.headers)
        self.payload = FormPayload(form if form is not None else request.query_params)
        self._query = dict(request.query_params)

    @property
    def args(self) -> dict[str, Any]:
        return self._query

    @property
    def form(self) -> dict[str, Any]:
        data: dict[str, Any] = self.payload.data
        return data


class StarletteAuthorizationServer(oidc.Provider):
    def create_oauth2_request(self, request: StarletteOAuth2Request) -> StarletteOAuth2Request:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        content = json.dumps(body) if isinstance(body, dict) else str(body)
        return Response(content, status_code=status, headers=dict(headers))


def _error(error: OAuth2Error) -> Response:
    status, body, headers = error()
    return Response(json.dumps(body), status_code=status, headers=dict(headers))


def _respond(server: StarletteAuthorizationServer, request: Request, form: FormData) -> Response:
    try:
        oauth_request = StarletteOAuth2Request(request, form)
    except InsecureTransportError as error:
        # Secrets cross only TLS (or loopback); behind a proxy, see --forwarded-allow-ips.
        return _error(error)
    try:
        # Failed proofs are counted per address, like a person's sign-ins.
        throttle.claim_app_attempt(server.ctx)
    except TooManyRequests as busy:
        _, body, headers = InvalidRequestError(busy.detail)()
        return Response(
            json.dumps(body),
            status_code=429,
            headers={**dict(headers), "Retry-After": str(busy.retry_after)},
        )
    response: Response = server.create_token_response(oauth_request)
    if response.status_code == 200:
        throttle.give_back_app_attempt(server.ctx)
    return response


@api.post(oauth.TOKEN_PATH)
async def token(request: Request) -> Response:
    """Client credentials (RFC 6749 §4.4): an API client's secret or signed assertion for a
    short-lived access token."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
        return _error(InvalidRequestError(f"Send the request as {FORM}."))
    form = await request.form()
    server = StarletteAuthorizationServer(new_context(request))
    return await run_in_threadpool(_respond, server, request, form)


def _bearer(request: Request) -> str:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


@api.get(oidc.DISCOVERY_PATH)
def discovery(request: Request) -> JSONResponse:
    """OpenID Connect discovery: where everything is, what is supported."""
    response = JSONResponse(oidc.discovery(new_context(request)))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@api.get(oidc.JWKS_PATH)
def jwks(request: Request) -> JSONResponse:
    """The public keys tokens are signed with (every live key: the signing one and the one
    it replaced)."""
    response = JSONResponse(signing_keys.published(new_context(request)))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@api.api_route(oidc.USERINFO_PATH, methods=["GET", "POST"])
def userinfo(request: Request) -> JSONResponse:
    """The person an access token stands for (RFC 6750 bearer)."""
    ctx = new_context(request)
    try:
        return JSONResponse(oidc.userinfo(ctx, _bearer(request)))
    except ServiceError as refused:
        return JSONResponse(
            {"error": "invalid_token", "error_description": oauth.said(refused.detail)},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
