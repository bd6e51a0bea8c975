"""The partner center API: offers, relationships, access assignments, agents, customers,
Find and Assist, and the partner's audit log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Response

from tenantry import access
from tenantry.access.roles import ROLE_NAMES, AgentLevel
from tenantry.api.converters import (
    contact,
    customer_out,
    etag,
    health_out,
    offer_out,
    relationship_out,
)
from tenantry.api.deps import Ctx, Cursor, IfMatchVersion, Limit
from tenantry.api.routes import router
from tenantry.api.routes.audit import event_out
from tenantry.api.routes.billing import subscription_out
from tenantry.api.schemas.audit import AuditEventOut
from tenantry.api.schemas.common import ItemList
from tenantry.api.schemas.partners import (
    AccessAssignmentIn,
    AccessAssignmentOut,
    AccessExplanationOut,
    AgentIn,
    AgentOut,
    CustomerOut,
    DashboardDomain,
    DashboardOut,
    GrantOut,
    LookupHitOut,
    OfferIn,
    OfferOut,
    OfferPatch,
    PartnerSettingsOut,
    PartnerSettingsPatch,
    RelationshipOut,
    RelationshipPatch,
    RelationshipStatus,
)
from tenantry.api.schemas.selection import customer_selection_query
from tenantry.api.schemas.support import ServiceRequestOut
from tenantry.core.context import Context
from tenantry.models import User
from tenantry.partners import agents, assignments, offers, partner_side
from tenantry.partners import enrolment as partners
from tenantry.partners import settings as partner_settings
from tenantry.partners import views as partner_views
from tenantry.partners.selection import CustomerSelection

api = router("partner center")


def _partner_offer(
    ctx: Context, offer_id: uuid.UUID | None = None, body: OfferIn | None = None
) -> OfferOut:
    if body is not None:
        offer = offers.create_offer(
            ctx,
            roles=[r.value for r in body.roles] if body.roles is not None else None,
            duration=body.duration,
            auto_extend=body.auto_extend,
            customer_tenant_id=body.customer_tenant_id,
            trial=offers.TrialTerms(body.trial.sku_id, body.trial.seats, body.trial.days)
            if body.trial
            else None,
            purchase=offers.PurchaseTerms(body.purchase.sku_id, body.purchase.seats)
            if body.purchase
            else None,
        )
    else:
        assert offer_id is not None
        offer = offers.get_offer(ctx, offer_id)
    return offer_out(ctx, offer, partners.require_partner(ctx))


@api.post("/partner/offers", status_code=201, response_model=OfferOut)
def create_offer(body: OfferIn, ctx: Ctx) -> OfferOut:
    """``{}`` makes the classic reusable offer (Full + Limited administration, P730D)."""
    return _partner_offer(ctx, body=body)


@api.get("/partner/offers", response_model=ItemList[OfferOut])
def list_offers(ctx: Ctx, cursor: Cursor = None, limit: Limit = 50) -> ItemList[OfferOut]:
    page = offers.list_offers(ctx, cursor=cursor, limit=limit)
    partner = partners.require_partner(ctx)
    return ItemList(
        items=[offer_out(ctx, o, partner) for o in page.items], next_cursor=page.next_cursor
    )


@api.get("/partner/offers/{oid}", response_model=OfferOut)
def get_offer(oid: uuid.UUID, ctx: Ctx) -> OfferOut:
    return _partner_offer(ctx, oid)


@api.patch("/partner/offers/{oid}", response_model=OfferOut)
def patch_offer(oid: uuid.UUID, body: OfferPatch, ctx: Ctx) -> OfferOut:
    """``{"enabled": false}`` disables the link (410 for whoever opens it)."""
    offers.update_offer(ctx, oid, enabled=body.enabled)
    return _partner_offer(ctx, oid)


@api.get("/partner/relationships", response_model=ItemList[RelationshipOut])
def list_relationships(
    ctx: Ctx,
    cursor: Cursor = None,
    limit: Limit = 50,
    status: Annotated[RelationshipStatus | None, Query()] = None,
    customer_tenant_id: Annotated[uuid.UUID | None, Query()] = None,
) -> ItemList[RelationshipOut]:
    page = partner_side.for_partner(
        ctx, status=status, customer_tenant_id=customer_tenant_id, cursor=cursor, limit=limit
    )
    return ItemList(items=[relationship_out(r) for r in page.items], next_cursor=page.next_cursor)


@api.get("/partner/relationships/{rid}", response_model=RelationshipOut)
def get_relationship(rid: uuid.UUID, ctx: Ctx, response: Response) -> RelationshipOut:
    relationship = partner_side.get_for_partner(ctx, rid)
    response.headers["ETag"] = etag(relationship)
    return relationship_out(relationship)


@api.patch("/partner/relationships/{rid}", response_model=RelationshipOut)
def patch_relationship(
    rid: uuid.UUID,
    body: RelationshipPatch,
    ctx: Ctx,
    response: Response,
    expected_version: IfMatchVersion,
) -> RelationshipOut:
    """Needs ``If-Match`` with the ETag you read (412 if it changed, 428 without it)."""
    relationship = partner_side.patch_for_partner(
        ctx, rid, expected_version=expected_version, auto_extend=body.auto_extend
    )
    response.headers["ETag"] = etag(relationship)
    return relationship_out(relationship)


@api.post("/partner/relationships/{rid}/terminate", response_model=RelationshipOut)
def terminate_relationship(rid: uuid.UUID, ctx: Ctx) -> RelationshipOut:
    return relationship_out(partner_side.terminate_by_partner(ctx, rid))


@api.get(
    "/partner/relationships/{rid}/access-assignments", response_model=ItemList[AccessAssignmentOut]
)
def list_access_assignments(rid: uuid.UUID, ctx: Ctx) -> ItemList[AccessAssignmentOut]:
    return ItemList(
        items=[
            AccessAssignmentOut.model_validate(a) for a in assignments.list_assignments(ctx, rid)
        ]
    )


@api.post(
    "/partner/relationships/{rid}/access-assignments",
    status_code=201,
    response_model=AccessAssignmentOut,
)
def add_access_assignment(
    rid: uuid.UUID, body: AccessAssignmentIn, ctx: Ctx
) -> AccessAssignmentOut:
    """Give a partner security group a subset of the relationship's roles: standing
    (``roles``) or to activate just in time (``eligible_roles``, for at most
    ``max_activation_minutes``, approved by a member of ``approver_group_id`` when
    ``approval_required``)."""
    assignment = assignments.add_assignment(
        ctx,
        rid,
        body.group_id,
        [r.value for r in body.roles],
        eligible_roles=[r.value for r in body.eligible_roles],
        max_activation_minutes=body.max_activation_minutes,
        approval_required=body.approval_required,
        approver_group_id=body.approver_group_id,
    )
    return AccessAssignmentOut.model_validate(assignment)


@api.delete("/partner/relationships/{rid}/access-assignments/{aid}", status_code=204)
def remove_access_assignment(rid: uuid.UUID, aid: uuid.UUID, ctx: Ctx) -> Response:
    assignments.remove_assignment(ctx, rid, aid)
    return Response(status_code=204)


def _agent(user: User, level: AgentLevel) -> AgentOut:
    return AgentOut(
        user_id=user.id,
        user_principal_name=user.user_principal_name,
        display_name=user.display_name,
        access=level,
    )


@api.get("/partner/agents/{uid}", response_model=AgentOut)
def get_agent(uid: uuid.UUID, ctx: Ctx) -> AgentOut:
    user, level = agents.agent_access(ctx, uid)
    return _agent(user, level)


@api.put("/partner/agents/{uid}", response_model=AgentOut)
def put_agent(uid: uuid.UUID, body: AgentIn, ctx: Ctx) -> AgentOut:
    """Full (Admin agents), Limited (Helpdesk agents) or no administration of customers."""
    user = agents.set_agent_access(ctx, uid, body.access)
    return _agent(user, body.access)


@api.get("/partner/customers", response_model=ItemList[CustomerOut])
def list_customers(
    ctx: Ctx,
    cursor: Cursor = None,
    limit: Limit = 50,
    search: Annotated[str | None, Query(max_length=256)] = None,
    selection: Annotated[CustomerSelection | None, Depends(customer_selection_query)] = None,
) -> ItemList[CustomerOut]:
    """The partner's customers as this agent may read them; ``group``, ``customer``,
    ``except_group`` and ``except_customer`` (repeatable) narrow the list ("group G except
    X"; an unknown group is a 404)."""
    page = partner_views.customers(
        ctx, search=search, cursor=cursor, limit=limit, selection=selection
    )
    return ItemList(items=[customer_out(s) for s in page.items], next_cursor=page.next_cursor)


@api.get("/partner/customers/{tid}", response_model=DashboardOut)
def customer_dashboard(tid: uuid.UUID, ctx: Ctx) -> DashboardOut:
    board = partner_views.dashboard(ctx, tid)
    return DashboardOut(
        customer=customer_out(board.summary),
        contact=contact(board.contact) if board.contact is not None else None,
        health=[health_out(h) for h in board.services] if board.services is not None else None,
        service_requests=(
            [ServiceRequestOut.model_validate(r) for r in board.service_requests]
            if board.service_requests is not None
            else None
        ),
        subscriptions=(
            [subscription_out(ctx, s) for s in board.subscriptions]
            if board.subscriptions is not None
            else None
        ),
        domains=(
            [
                DashboardDomain(
                    name=d.name,
                    status=d.status,
                    capabilities=d.capabilities,
                    is_default=d.is_default,
                    is_initial=d.is_initial,
                )
                for d in board.domains
            ]
            if board.domains is not None
            else None
        ),
        relationships=[relationship_out(r) for r in board.relationships],
        not_visible=board.hidden,
    )


@api.get("/partner/customers/{tid}/access", response_model=AccessExplanationOut)
def customer_access(tid: uuid.UUID, ctx: Ctx) -> AccessExplanationOut:
    """What this agent may do in the customer, and why."""
    decision = partner_views.access_in(ctx, tid)
    return AccessExplanationOut(
        tenant_id=decision.tenant_id,
        tenant_name=decision.tenant_name,
        path=decision.path,
        mfa_satisfied=access.second_factor_held_back(ctx.session, ctx.require_principal()) is None,
        permissions=sorted(p.value for p in decision.permissions) if not decision.blocked else [],
        grants=[
            GrantOut(
                role=g.role,
                role_name=ROLE_NAMES[g.role],
                via=g.via,
                relationship_id=g.relationship_id,
                permissions=sorted(p.value for p in g.permissions),
                activation_id=g.activation_id,
                until=g.until,
            )
            for g in decision.grants
        ],
        explanation=decision.explain(),
        blocked=decision.blocked,
    )


@api.get("/partner/lookup", response_model=ItemList[LookupHitOut])
def lookup(
    ctx: Ctx, q: Annotated[str, Query(min_length=1, max_length=256)]
) -> ItemList[LookupHitOut]:
    """Find and Assist: a customer by name, domain, or user (UPN or display name)."""
    return ItemList(
        items=[
            LookupHitOut(
                tenant_id=h.tenant_id,
                tenant_name=h.tenant_name,
                match_type=h.match_type,
                match=h.match,
            )
            for h in partner_views.lookup(ctx, q)
        ]
    )


@api.get("/partner/audit-events", response_model=ItemList[AuditEventOut])
def partner_audit_events(
    ctx: Ctx, cursor: Cursor = None, limit: Limit = 50
) -> ItemList[AuditEventOut]:
    page = partner_views.partner_audit(ctx, cursor=cursor, limit=limit)
    return ItemList(items=[event_out(e) for e in page.items], next_cursor=page.next_cursor)


@api.get("/partner/settings", response_model=PartnerSettingsOut)
def get_partner_settings(ctx: Ctx) -> PartnerSettingsOut:
    """The partner's own settings (its admins: partner.manage on its member path)."""
    return PartnerSettingsOut(**vars(partner_settings.get_settings(ctx)))


@api.patch("/partner/settings", response_model=PartnerSettingsOut)
def patch_partner_settings(body: PartnerSettingsPatch, ctx: Ctx) -> PartnerSettingsOut:
    """``require_phishing_resistant_mfa``: the partner's agents act on behalf of customers only
    from a sign-in with a passkey; a TOTP sign-in is refused, with the reason. Audited."""
    done = partner_settings.update_settings(
        ctx, require_phishing_resistant_mfa=body.require_phishing_resistant_mfa
    )
    return PartnerSettingsOut(**vars(done))
