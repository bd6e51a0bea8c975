"""Automation identities: a partner's API clients (/partner/api-clients) and an
organisation's own (/tenants/{tid}/api-clients). Tokens: POST /oauth2/token (api/oauth.py)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import Response

from tenantry.api.deps import Ctx, Cursor, Limit
from tenantry.api.routes import router
from tenantry.api.schemas.api_clients import (
    ApiClientOut,
    ApiClientPatchFields,
    PartnerApiClientIn,
    PartnerApiClientOut,
    PartnerApiClientPatch,
    PartnerApiClientSecretOut,
    SecretRotationIn,
    TenantApiClientIn,
    TenantApiClientOut,
    TenantApiClientPatch,
    TenantApiClientSecretOut,
)
from tenantry.api.schemas.common import ItemList
from tenantry.core.context import Context
from tenantry.models import ApiClient
from tenantry.partners import api_clients as service

api = router("api clients")


def _fields(client: ApiClient) -> dict[str, Any]:
    return ApiClientOut.model_validate(client, from_attributes=True).model_dump()


def _partner_out(ctx: Context, clients: list[ApiClient]) -> list[PartnerApiClientOut]:
    groups = service.groups_of(ctx, clients)
    return [PartnerApiClientOut(**_fields(c), group_ids=groups[c.id]) for c in clients]


def _tenant_out(ctx: Context, clients: list[ApiClient]) -> list[TenantApiClientOut]:
    roles = service.roles_of(ctx, clients)
    return [TenantApiClientOut(**_fields(c), roles=roles[c.id]) for c in clients]


def _changes(body: ApiClientPatchFields, **kinds: Any) -> service.ClientChanges:
    given = set(body.model_fields_set)
    return service.ClientChanges(
        given=given,
        name=body.name,
        enabled=body.enabled,
        allowed_ips=body.allowed_ips,
        expires_at=body.expires_at,
        public_jwk=body.public_jwk,
        **kinds,
    )


def _overlap(body: SecretRotationIn | None) -> timedelta | None:
    if body is None or body.overlap_seconds is None:
        return None
    return timedelta(seconds=body.overlap_seconds)


# --- a partner's clients -------------------------------------------------------------------


@api.post("/partner/api-clients", status_code=201, response_model=PartnerApiClientSecretOut)
def create_partner_client(body: PartnerApiClientIn, ctx: Ctx) -> PartnerApiClientSecretOut:
    """An app of the partner that acts in customers like an agent of these groups (never as
    Global Administrator). The secret is shown this once; none with a public key."""
    made = service.create_partner_client(
        ctx,
        name=body.name,
        group_ids=body.group_ids,
        allowed_ips=body.allowed_ips,
        expires_at=body.expires_at,
        public_jwk=body.public_jwk,
    )
    (out,) = _partner_out(ctx, [made.client])
    return PartnerApiClientSecretOut(**out.model_dump(), client_secret=made.secret)


@api.get("/partner/api-clients", response_model=ItemList[PartnerApiClientOut])
def list_partner_clients(
    ctx: Ctx, cursor: Cursor = None, limit: Limit = 50
) -> ItemList[PartnerApiClientOut]:
    page = service.partner_clients(ctx, cursor, limit)
    return ItemList(items=_partner_out(ctx, page.items), next_cursor=page.next_cursor)


@api.get("/partner/api-clients/{cid}", response_model=PartnerApiClientOut)
def get_partner_client(cid: uuid.UUID, ctx: Ctx) -> PartnerApiClientOut:
    return _partner_out(ctx, [service.partner_client(ctx, cid)])[0]


@api.patch("/partner/api-clients/{cid}", response_model=PartnerApiClientOut)
def patch_partner_client(
    cid: uuid.UUID, body: PartnerApiClientPatch, ctx: Ctx
) -> PartnerApiClientOut:
    """Rename, disable or enable (disabling ends its tokens), change its groups, networks,
    expiry or public key."""
    client = service.update_partner_client(ctx, cid, _changes(body, group_ids=body.group_ids))
    return _partner_out(ctx, [client])[0]


@api.post("/partner/api-clients/{cid}/secret", response_model=PartnerApiClientSecretOut)
def rotate_partner_secret(
    cid: uuid.UUID, ctx: Ctx, body: SecretRotationIn | None = None
) -> PartnerApiClientSecretOut:
    """A new secret, shown once; the previous one keeps working for the overlap."""
    made = service.rotate_partner_secret(ctx, cid, _overlap(body))
    (out,) = _partner_out(ctx, [made.client])
    return PartnerApiClientSecretOut(**out.model_dump(), client_secret=made.secret)


@api.delete("/partner/api-clients/{cid}", status_code=204)
def delete_partner_client(cid: uuid.UUID, ctx: Ctx) -> Response:
    """Deleted with every token it holds: the next request with one is refused."""
    service.delete_partner_client(ctx, cid)
    return Response(status_code=204)


# --- an organisation's own clients ---------------------------------------------------------


@api.post("/tenants/{tid}/api-clients", status_code=201, response_model=TenantApiClientSecretOut)
def create_tenant_client(
    tid: uuid.UUID, body: TenantApiClientIn, ctx: Ctx
) -> TenantApiClientSecretOut:
    """An app of the organisation holding these roles in it (never Global Administrator).
    Managed only by its own administrators (roles.assign, never on behalf)."""
    made = service.create_tenant_client(
        ctx,
        tid,
        name=body.name,
        roles=body.roles,
        allowed_ips=body.allowed_ips,
        expires_at=body.expires_at,
        public_jwk=body.public_jwk,
    )
    (out,) = _tenant_out(ctx, [made.client])
    return TenantApiClientSecretOut(**out.model_dump(), client_secret=made.secret)


@api.get("/tenants/{tid}/api-clients", response_model=ItemList[TenantApiClientOut])
def list_tenant_clients(
    tid: uuid.UUID, ctx: Ctx, cursor: Cursor = None, limit: Limit = 50
) -> ItemList[TenantApiClientOut]:
    page = service.tenant_clients(ctx, tid, cursor, limit)
    return ItemList(items=_tenant_out(ctx, page.items), next_cursor=page.next_cursor)


@api.get("/tenants/{tid}/api-clients/{cid}", response_model=TenantApiClientOut)
def get_tenant_client(tid: uuid.UUID, cid: uuid.UUID, ctx: Ctx) -> TenantApiClientOut:
    return _tenant_out(ctx, [service.tenant_client(ctx, tid, cid)])[0]


@api.patch("/tenants/{tid}/api-clients/{cid}", response_model=TenantApiClientOut)
def patch_tenant_client(
    tid: uuid.UUID, cid: uuid.UUID, body: TenantApiClientPatch, ctx: Ctx
) -> TenantApiClientOut:
    client = service.update_tenant_client(ctx, tid, cid, _changes(body, roles=body.roles))
    return _tenant_out(ctx, [client])[0]


@api.post("/tenants/{tid}/api-clients/{cid}/secret", response_model=TenantApiClientSecretOut)
def rotate_tenant_secret(
    tid: uuid.UUID, cid: uuid.UUID, ctx: Ctx, body: SecretRotationIn | None = None
) -> TenantApiClientSecretOut:
    made = service.rotate_tenant_secret(ctx, tid, cid, _overlap(body))
    (out,) = _tenant_out(ctx, [made.client])
    return TenantApiClientSecretOut(**out.model_dump(), client_secret=made.secret)


@api.delete("/tenants/{tid}/api-clients/{cid}", status_code=204)
def delete_tenant_client(tid: uuid.UUID, cid: uuid.UUID, ctx: Ctx) -> Response:
    service.delete_tenant_client(ctx, tid, cid)
    return Response(status_code=204)
