"""The offer link as the customer meets it: read it, accept it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from tenantry.access.roles import Role
from tenantry.api.converters import contact, described, purchase_of, relationship_out, trial_of
from tenantry.api.deps import AnonymousCtx, Ctx
from tenantry.api.routes import router
from tenantry.api.schemas.partners import OfferPublicOut, RelationshipOut
from tenantry.partners import offers

api = router("offers")
Token = Annotated[str, Path(min_length=1, max_length=200)]


@api.get("/offers/{token}", response_model=OfferPublicOut)
def read_offer(token: Token, ctx: AnonymousCtx) -> OfferPublicOut:
    """What the customer is asked to accept: the partner, the roles in plain words, the
    duration, any trial or purchase. 404 for an unknown link, 410 for a withdrawn one."""
    view = offers.describe(ctx, token)
    offer = view.offer
    return OfferPublicOut(
        partner=contact(view.partner),
        roles=[Role(r) for r in offer.roles],
        roles_described=described(offer.roles),
        duration=offers.format_duration(offer.duration_days),
        duration_days=offer.duration_days,
        auto_extend=offer.auto_extend,
        for_one_customer=offer.customer_tenant_id is not None,
        trial=trial_of(offer),
        purchase=purchase_of(offer),
        expires_at=offer.expires_at,
        partner_default_domain=view.partner_domain,
    )


@api.post("/offers/{token}/accept", status_code=201, response_model=RelationshipOut)
def accept_offer(token: Token, ctx: Ctx) -> RelationshipOut:
    """Accepted by a Global Administrator of the customer; anyone else gets 403."""
    return relationship_out(offers.accept(ctx, token))
