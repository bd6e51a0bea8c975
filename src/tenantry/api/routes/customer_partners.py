"""The customer's side: its delegated administrators, their terms, removing or blocking one,
and its partner policy."""

from __future__ import annotations

import uuid

from fastapi import Response

from tenantry.access.roles import Role
from tenantry.api.converters import contact, described, etag
from tenantry.api.deps import Ctx, Cursor, IfMatchVersion, Limit
from tenantry.api.routes import router
from tenantry.api.schemas.common import ItemList
from tenantry.api.schemas.partners import (
    CustomerRelationshipOut,
    PartnerBlockOut,
    PartnerPolicyIO,
    RelationshipPatch,
)
from tenantry.directory import tenants
from tenantry.partners import blocks as partner_blocks
from tenantry.partners import customer_side
from tenantry.partners import policy as partner_policy

api = router("partner relationships")


def _out(row: customer_side.PartnerRow) -> CustomerRelationshipOut:
    r = row.relationship
    return CustomerRelationshipOut(
        id=r.id,
        partner=contact(row.partner),
        roles=[Role(x) for x in r.roles],
        roles_described=described(r.roles),
        status=r.status,
        created_at=r.created_at,
        activated_at=r.activated_at,
        ends_at=r.ends_at,
        auto_extend=r.auto_extend,
        partner_default_domain=row.partner_domain,
        etag=etag(r),
    )


@api.get("/tenants/{tid}/partner-relationships", response_model=ItemList[CustomerRelationshipOut])
def list_partner_relationships(
    tid: uuid.UUID, ctx: Ctx, cursor: Cursor = None, limit: Limit = 50
) -> ItemList[CustomerRelationshipOut]:
    """Every partner that holds (or asks for) delegated administration here, by name."""
    page = customer_side.for_customer(ctx, tid, cursor=cursor, limit=limit)
    return ItemList(items=[_out(row) for row in page.items], next_cursor=page.next_cursor)


def _one(ctx: Ctx, tid: uuid.UUID, rid: uuid.UUID, response: Response) -> CustomerRelationshipOut:
    relationship, partner = customer_side.get_for_customer(ctx, tid, rid)
    domain = tenants.default_domain(ctx, partner.id)
    response.headers["ETag"] = etag(relationship)
    return _out(customer_side.PartnerRow(relationship, partner, domain))


@api.get("/tenants/{tid}/partner-relationships/{rid}", response_model=CustomerRelationshipOut)
def get_partner_relationship(
    tid: uuid.UUID, rid: uuid.UUID, ctx: Ctx, response: Response
) -> CustomerRelationshipOut:
    """One partner relationship and its terms; the ETag is for PATCH."""
    return _one(ctx, tid, rid, response)


@api.patch("/tenants/{tid}/partner-relationships/{rid}", response_model=CustomerRelationshipOut)
def patch_partner_relationship(
    tid: uuid.UUID,
    rid: uuid.UUID,
    body: RelationshipPatch,
    ctx: Ctx,
    response: Response,
    expected_version: IfMatchVersion,
) -> CustomerRelationshipOut:
    """Turn auto-extend on or off (never on with Global Administrator). Needs ``If-Match``
    with the ETag you read (412 if it changed, 428 without it)."""
    customer_side.patch_for_customer(
        ctx, tid, rid, expected_version=expected_version, auto_extend=body.auto_extend
    )
    return _one(ctx, tid, rid, response)


@api.delete("/tenants/{tid}/partner-relationships/{rid}", status_code=204)
def remove_partner(tid: uuid.UUID, rid: uuid.UUID, ctx: Ctx) -> Response:
    """End a partner's delegated administration now; its agents are refused from the next
    request, and the partner is e-mailed."""
    customer_side.remove_by_customer(ctx, tid, rid)
    return Response(status_code=204)


def _block_out(view: partner_blocks.BlockView) -> PartnerBlockOut:
    return PartnerBlockOut(
        partner_tenant_id=view.partner_tenant_id,
        partner_name=view.partner_name,
        partner_default_domain=view.partner_domain,
        created_at=view.created_at,
    )


@api.get("/tenants/{tid}/partner-blocks", response_model=ItemList[PartnerBlockOut])
def list_partner_blocks(
    tid: uuid.UUID, ctx: Ctx, cursor: Cursor = None, limit: Limit = 50
) -> ItemList[PartnerBlockOut]:
    """Partners whose requests and offer links this organisation refuses."""
    page = partner_blocks.list_blocks(ctx, tid, cursor=cursor, limit=limit)
    return ItemList(items=[_block_out(b) for b in page.items], next_cursor=page.next_cursor)


@api.put("/tenants/{tid}/partner-blocks/{pid}", response_model=PartnerBlockOut)
def block_partner(tid: uuid.UUID, pid: uuid.UUID, ctx: Ctx) -> PartnerBlockOut:
    """Refuse this partner's requests and offer links (declines its waiting request; a live
    relationship stays until removed). Idempotent."""
    return _block_out(partner_blocks.block(ctx, tid, pid))


@api.delete("/tenants/{tid}/partner-blocks/{pid}", status_code=204)
def unblock_partner(tid: uuid.UUID, pid: uuid.UUID, ctx: Ctx) -> Response:
    partner_blocks.unblock(ctx, tid, pid)
    return Response(status_code=204)


@api.get("/tenants/{tid}/partner-policy", response_model=PartnerPolicyIO)
def get_partner_policy(tid: uuid.UUID, ctx: Ctx) -> PartnerPolicyIO:
    return _policy_out(partner_policy.get_policy(ctx, tid))


def _policy_out(policy: partner_policy.PolicyView) -> PartnerPolicyIO:
    return PartnerPolicyIO(
        blocked_permissions=policy.blocked_permissions,
        allow_privileged_roles=policy.allow_privileged_roles,
        require_customer_approval_for_global_admin=policy.require_customer_approval_for_global_admin,
    )


@api.put("/tenants/{tid}/partner-policy", response_model=PartnerPolicyIO)
def put_partner_policy(tid: uuid.UUID, body: PartnerPolicyIO, ctx: Ctx) -> PartnerPolicyIO:
    """Permissions no partner may use here, whatever roles were approved."""
    policy = partner_policy.set_policy(
        ctx,
        tid,
        body.blocked_permissions,
        allow_privileged_roles=body.allow_privileged_roles,
        require_customer_approval_for_global_admin=body.require_customer_approval_for_global_admin,
    )
    return _policy_out(policy)
