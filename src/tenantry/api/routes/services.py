"""Services that sign people in with Tenantry: an organisation's own apps
(/tenants/{tid}/oidc-apps) and the health a platform service posts with its own credential
(/services/{id}/health). The OpenID Connect endpoints are api/oauth.py and web/routes/oidc.py."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tenantry.api.deps import Ctx, new_context
from tenantry.api.routes import router
from tenantry.api.schemas.common import ItemList
from tenantry.api.schemas.services import (
    ClientSecretOut,
    OidcAppIn,
    OidcAppOut,
    OidcAppSecretOut,
    ServiceHealthIn,
    ServiceHealthPosted,
)
from tenantry.core.context import Context
from tenantry.core.errors import Unauthenticated
from tenantry.identity import oidc, relying_parties
from tenantry.models import RelyingParty
from tenantry.support import health

api = router("services")
service_bearer = HTTPBearer(
    auto_error=False,
    description="A service's own token: client_credentials at /oauth2/token, scope service.health",
)


def _out(row: RelyingParty) -> OidcAppOut:
    return OidcAppOut(
        id=row.id,
        name=row.name,
        client_id=row.client_id,
        public=row.public,
        redirect_uris=row.redirect_uris,
        post_logout_redirect_uris=row.post_logout_redirect_uris,
        required_license=row.required_license,
        enabled=row.enabled,
        created_at=row.created_at,
    )


@api.post("/tenants/{tid}/oidc-apps", status_code=201, response_model=OidcAppSecretOut)
def register_app(tid: uuid.UUID, body: OidcAppIn, ctx: Ctx) -> OidcAppSecretOut:
    """Register an app that signs in this organisation's people with Tenantry (OpenID
    Connect, code + PKCE). Its own administrators only, never on behalf. The secret is shown
    this once."""
    made = relying_parties.register_tenant_app(
        ctx,
        tid,
        body.name,
        body.redirect_uris,
        body.post_logout_redirect_uris,
        body.require_license,
        body.public,
    )
    return OidcAppSecretOut(
        **_out(made.party).model_dump(), client_secret=made.secret, issuer=oidc.issuer(ctx)
    )


@api.get("/tenants/{tid}/oidc-apps", response_model=ItemList[OidcAppOut])
def list_apps(tid: uuid.UUID, ctx: Ctx) -> ItemList[OidcAppOut]:
    return ItemList(
        items=[_out(r) for r in relying_parties.tenant_apps(ctx, tid)], next_cursor=None
    )


@api.post("/tenants/{tid}/oidc-apps/{app_id}/rotate-secret", response_model=ClientSecretOut)
def rotate_app_secret(tid: uuid.UUID, app_id: uuid.UUID, ctx: Ctx) -> ClientSecretOut:
    """A new secret, shown once; the old one stops working at once."""
    return ClientSecretOut(client_secret=relying_parties.rotate_tenant_app_secret(ctx, tid, app_id))


@api.delete("/tenants/{tid}/oidc-apps/{app_id}", status_code=204)
def delete_app(tid: uuid.UUID, app_id: uuid.UUID, ctx: Ctx) -> Response:
    relying_parties.delete_tenant_app(ctx, tid, app_id)
    return Response(status_code=204)


def service_context(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(service_bearer)] = None,
) -> tuple[Context, RelyingParty]:
    ctx = new_context(request)
    if credentials is None:
        raise Unauthenticated(
            "Send the service's own token: 'Authorization: Bearer <token>' from /oauth2/token "
            "(grant_type=client_credentials, scope=service.health)."
        )
    return ctx, oidc.service_for_token(ctx, credentials.credentials)


@api.post("/services/{service_id}/health", response_model=ServiceHealthPosted)
def post_health(
    service_id: str,
    body: ServiceHealthIn,
    caller: Annotated[tuple[Context, RelyingParty], Depends(service_context)],
) -> ServiceHealthPosted:
    """A platform service posts its own health (its own credential; never another's)."""
    ctx, party = caller
    row = health.post_by_service(ctx, party, service_id, body.status, body.message)
    return ServiceHealthPosted(id=row.id, name=row.name, status=row.status)
