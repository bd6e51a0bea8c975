"""The customer's side: its delegated administrators, removing one, and its partner policy."""

from __future__ import annotations

import uuid

from fastapi import Response

from tenantry.api.converters import contact, described
from tenantry.api.deps import Ctx
from tenantry.api.routes import router
from tenantry.api.schemas import CustomerRelationshipOut, ItemList, PartnerPolicyIO
from tenantry.roles import Role
from tenantry.services import relationships

api = router("partner relationships")


@api.get("/tenants/{tid}/partner-relationships", response_model=ItemList[CustomerRelationshipOut])
def list_partner_relationships(tid: uuid.UUID, ctx: Ctx) -> ItemList[CustomerRelationshipOut]:
    """Every partner that holds (or asks for) delegated administration here."""
    return ItemList(
        items=[
            CustomerRelationshipOut(
                id=r.id,
                partner=contact(partner),
                roles=[Role(x) for x in r.roles],
                roles_described=described(r.roles),
                status=r.status,  # type: ignore[arg-type]
                created_at=r.created_at,
                activated_at=r.activated_at,
                ends_at=r.ends_at,
            )
            for r, partner in relationships.for_customer(ctx, tid)
        ]
    )


@api.delete("/tenants/{tid}/partner-relationships/{rid}", status_code=204)
def remove_partner(tid: uuid.UUID, rid: uuid.UUID, ctx: Ctx) -> Response:
    """End a partner's delegated administration now; its agents are refused from the next
    request, and the partner is e-mailed."""
    relationships.remove_by_customer(ctx, tid, rid)
    return Response(status_code=204)


@api.get("/tenants/{tid}/partner-policy", response_model=PartnerPolicyIO)
def get_partner_policy(tid: uuid.UUID, ctx: Ctx) -> PartnerPolicyIO:
    policy = relationships.get_policy(ctx, tid)
    return PartnerPolicyIO(
        blocked_permissions=policy.blocked_permissions,
        allow_privileged_roles=policy.allow_privileged_roles,
    )


@api.put("/tenants/{tid}/partner-policy", response_model=PartnerPolicyIO)
def put_partner_policy(tid: uuid.UUID, body: PartnerPolicyIO, ctx: Ctx) -> PartnerPolicyIO:
    """Permissions no partner may use here, whatever roles were approved."""
    policy = relationships.set_policy(
        ctx, tid, body.blocked_permissions, allow_privileged_roles=body.allow_privileged_roles
    )
    return PartnerPolicyIO(
        blocked_permissions=policy.blocked_permissions,
        allow_privileged_roles=policy.allow_privileged_roles,
    )
