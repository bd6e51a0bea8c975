"""An organisation's provisioning tokens (/tenants/{tid}/scim-tokens): what an identity
system provisions the directory with at /scim/v2/{tid}/ (api/scim.py)."""

from __future__ import annotations

import uuid

from fastapi import Request, Response

from tenantry.api.deps import Ctx, Cursor, Limit
from tenantry.api.routes import router
from tenantry.api.schemas.common import ItemList
from tenantry.api.schemas.scim_tokens import ScimTokenIn, ScimTokenOut, ScimTokenSecretOut
from tenantry.provisioning import tokens as service

api = router("provisioning")


@api.post("/tenants/{tid}/scim-tokens", status_code=201, response_model=ScimTokenSecretOut)
def create_scim_token(
    tid: uuid.UUID, body: ScimTokenIn, ctx: Ctx, request: Request
) -> ScimTokenSecretOut:
    """A provisioning token for an identity system (shown this once). The organisation's own
    Global Administrators only (roles.assign), never on behalf of it."""
    made = service.create_token(ctx, tid, name=body.name, expires_at=body.expires_at)
    out = ScimTokenOut.model_validate(made.token, from_attributes=True)
    return ScimTokenSecretOut(
        **out.model_dump(),
        token=made.value,
        scim_base_url=str(request.base_url).rstrip("/") + f"/scim/v2/{tid}",
    )


@api.get("/tenants/{tid}/scim-tokens", response_model=ItemList[ScimTokenOut])
def list_scim_tokens(
    tid: uuid.UUID, ctx: Ctx, cursor: Cursor = None, limit: Limit = 50
) -> ItemList[ScimTokenOut]:
    page = service.list_tokens(ctx, tid, cursor, limit)
    return ItemList(
        items=[ScimTokenOut.model_validate(t, from_attributes=True) for t in page.items],
        next_cursor=page.next_cursor,
    )


@api.delete("/tenants/{tid}/scim-tokens/{token_id}", status_code=204)
def revoke_scim_token(tid: uuid.UUID, token_id: uuid.UUID, ctx: Ctx) -> Response:
    """Revoked: its next request is refused, in every process."""
    service.revoke_token(ctx, tid, token_id)
    return Response(status_code=204)
