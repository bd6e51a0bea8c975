"""The OAuth 2.0 endpoints over Starlette: Authlib's authorization server
(``identity.oauth``) given Starlette's request, answering with Starlette's response.

``POST /oauth2/token`` sits at the root, beside the OpenID Connect endpoints to come, not
under /api/v1: OAuth clients find it by its own conventions. Its answers are RFC 6749 JSON,
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
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from tenantry.api.deps import new_context
from tenantry.api.routing import TransactionalRoute
from tenantry.core.errors import TooManyRequests
from tenantry.identity import oauth, throttle

FORM = "application/x-www-form-urlencoded"

api = APIRouter(route_class=TransactionalRoute, include_in_schema=False, tags=["oauth"])


class FormPayload(OAuth2Payload):
    """The request's form fields (never its query string: credentials stay out of URLs)."""

    def __init__(self, form: FormData) -> None:
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
    def __init__(self, request: Request, form: FormData) -> None:
        super().__init__(method=request.method, uri=str(request.url), headers=request.headers)
        self.payload = FormPayload(form)
        self._query = dict(request.query_params)

    @property
    def args(self) -> dict[str, Any]:
        return self._query

    @property
    def form(self) -> dict[str, Any]:
        data: dict[str, Any] = self.payload.data
        return data


class StarletteAuthorizationServer(oauth.AuthorizationServer):
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
