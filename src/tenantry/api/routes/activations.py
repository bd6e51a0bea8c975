"""Just-in-time elevation: a partner's agents activate eligible roles in a customer for a
while (``/partner/activations``), and the customer sees, approves where its policy asks, and
ends them (``/tenants/{tid}/partner-activations``)."""

from __future__ import annotations

import uuid

from tenantry.access.roles import ROLE_NAMES
from tenantry.api.converters import activation_out
from tenantry.api.deps import Ctx, Cursor, Limit
from tenantry.api.routes import router
from tenantry.api.schemas.common import ItemList
from tenantry.api.schemas.partners import ActivationIn, ActivationOut, EligibleRoleOut
from tenantry.core.context import Context
from tenantry.models import Activation
from tenantry.partners import activations

api = router("just-in-time elevation")


def _one(ctx: Context, activation: Activation) -> ActivationOut:
    return activation_out(activations.with_names(ctx, [activation])[0], ctx.now)


@api.post("/partner/activations", status_code=201, response_model=ActivationOut)
def request_activation(body: ActivationIn, ctx: Ctx) -> ActivationOut:
    """Activate a role you are eligible for in one customer, for ``minutes`` (30 to 480, at most
    the access assignment's limit). Needs a sign-in with a second factor in the last 15
    minutes. Without approval it is ``active`` at once until ``ends_at``; otherwise
    ``pending_approval`` for 24 hours."""
    activation = activations.request_activation(
        ctx, body.relationship_id, body.role, body.minutes, body.justification, body.ticket
    )
    return _one(ctx, activation)


@api.get("/partner/activations", response_model=ItemList[ActivationOut])
def list_activations(ctx: Ctx, cursor: Cursor = None, limit: Limit = 50) -> ItemList[ActivationOut]:
    """Newest first: your own requests and those you may approve; partner admins see all."""
    page = activations.for_partner(ctx, cursor=cursor, limit=limit)
    return ItemList(
        items=[activation_out(row, ctx.now) for row in page.items], next_cursor=page.next_cursor
    )


@api.get("/partner/eligible-roles", response_model=ItemList[EligibleRoleOut])
def list_eligible_roles(ctx: Ctx) -> ItemList[EligibleRoleOut]:
    """What you may activate: per live relationship, the roles an access assignment of a
    group you are in makes eligible, for how long at most and whose approval it needs."""
    return ItemList(
        items=[
            EligibleRoleOut(
                relationship_id=e.relationship_id,
                customer_tenant_id=e.customer_tenant_id,
                customer_name=e.customer_name,
                role=e.role,
                role_name=ROLE_NAMES[e.role],
                max_minutes=e.max_minutes,
                max_minutes_without_approval=e.max_minutes_without_approval,
                customer_approval_required=e.customer_approval,
                groups=list(e.groups),
            )
            for e in activations.eligible_for_me(ctx)
        ]
    )


@api.get("/partner/approvals", response_model=ItemList[ActivationOut])
def list_approvals(ctx: Ctx, cursor: Cursor = None, limit: Limit = 50) -> ItemList[ActivationOut]:
    """Requests you may approve or deny now, the longest waiting first: waiting for a partner
    approver, of an approver group you are in, never your own."""
    page = activations.awaiting_my_approval(ctx, cursor=cursor, limit=limit)
    return ItemList(
        items=[activation_out(row, ctx.now) for row in page.items], next_cursor=page.next_cursor
    )


@api.get("/partner/activations/{aid}", response_model=ActivationOut)
def get_activation(aid: uuid.UUID, ctx: Ctx) -> ActivationOut:
    return activation_out(activations.get_for_partner(ctx, aid), ctx.now)


@api.post("/partner/activations/{aid}/approve", response_model=ActivationOut)
def approve_activation(aid: uuid.UUID, ctx: Ctx) -> ActivationOut:
    """A member of the approver group, never the requester, with a recent second factor; the
    clock starts now (unless the customer's own approval is still needed)."""
    return _one(ctx, activations.approve_for_partner(ctx, aid))


@api.post("/partner/activations/{aid}/deny", response_model=ActivationOut)
def deny_activation(aid: uuid.UUID, ctx: Ctx) -> ActivationOut:
    return _one(ctx, activations.deny_for_partner(ctx, aid))


@api.post("/partner/activations/{aid}/end", response_model=ActivationOut)
def end_activation(aid: uuid.UUID, ctx: Ctx) -> ActivationOut:
    """The requester (or a partner admin) gives the role back now, or withdraws a request."""
    return _one(ctx, activations.end_for_partner(ctx, aid))


@api.get("/tenants/{tid}/partner-activations", response_model=ItemList[ActivationOut])
def list_partner_activations(
    tid: uuid.UUID, ctx: Ctx, cursor: Cursor = None, limit: Limit = 50
) -> ItemList[ActivationOut]:
    """Every partner's activations here, newest first: who, which role, why, the ticket,
    from when to when, approved by whom, and what became of it."""
    page = activations.for_customer(ctx, tid, cursor=cursor, limit=limit)
    return ItemList(
        items=[activation_out(row, ctx.now) for row in page.items], next_cursor=page.next_cursor
    )


@api.post("/tenants/{tid}/partner-activations/{aid}/approve", response_model=ActivationOut)
def approve_partner_activation(tid: uuid.UUID, aid: uuid.UUID, ctx: Ctx) -> ActivationOut:
    """A Global Administrator of this organisation approves a partner's activation of Global
    Administrator that the partner policy holds for it."""
    return _one(ctx, activations.approve_for_customer(ctx, tid, aid))


@api.post("/tenants/{tid}/partner-activations/{aid}/deny", response_model=ActivationOut)
def deny_partner_activation(tid: uuid.UUID, aid: uuid.UUID, ctx: Ctx) -> ActivationOut:
    """A Global Administrator of this organisation turns a waiting request down."""
    return _one(ctx, activations.deny_for_customer(ctx, tid, aid))


@api.post("/tenants/{tid}/partner-activations/{aid}/end", response_model=ActivationOut)
def end_partner_activation(tid: uuid.UUID, aid: uuid.UUID, ctx: Ctx) -> ActivationOut:
    """End a partner's activation now (or withdraw its request): refused from the next
    request on."""
    return _one(ctx, activations.end_for_customer(ctx, tid, aid))
