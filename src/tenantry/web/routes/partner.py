"""The Partner center: customers, one customer's dashboard, offers, agents, relationships (and
their access assignments), Find and Assist, an agent's just-in-time access and the approvers'
queue, and the partner's audit log."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from tenantry.access.roles import ROLE_NAMES, AgentLevel, Role
from tenantry.api.schemas.partners import AccessAssignmentIn, ActivationIn, AgentIn, OfferIn
from tenantry.core.errors import InvalidInput
from tenantry.directory import tenants, users
from tenantry.models.partners import ActivationStatus, OfferKind
from tenantry.partners import (
    activations,
    assignments,
    customer_groups,
    offers,
    partner_side,
    user_search,
)
from tenantry.partners import agents as partner_agents
from tenantry.partners import enrolment as partners
from tenantry.partners import views as partner_views
from tenantry.partners.selection import CustomerSelection
from tenantry.web.forms import assignment_terms, optional_uuid, parse_form
from tenantry.web.pages import Posted, SignedIn, redirect, render, router, ticked
from tenantry.web.routes.reports import web_selection

pages = router()
PAGE = 50
PENDING = ActivationStatus.PENDING_APPROVAL


def _partner(request: Request, ctx: SignedIn, template: str, **values: Any) -> Response:
    partner = partners.require_partner(ctx, None)
    return render(
        request,
        ctx,
        template,
        partner=partner,
        section=template.split("/")[-1].removesuffix(".html"),
        **values,
    )


@pages.get("/partner")
def customers(
    request: Request,
    ctx: SignedIn,
    search: str | None = None,
    cursor: str | None = None,
    group: str | None = None,
) -> Response:
    group_id = optional_uuid(group, "Group: choose one of the list.")
    selection = CustomerSelection(groups=(group_id,)) if group_id else None
    page = partner_views.customers(
        ctx, search=search, cursor=cursor, limit=PAGE, selection=selection
    )
    groups = customer_groups.list_groups(ctx, cursor=None, limit=200).items
    return _partner(
        request,
        ctx,
        "partner/customers.html",
        page=page,
        search=search or "",
        groups=groups,
        group=str(group_id) if group_id else "",
    )


@pages.get("/partner/customers/{tid}")
def dashboard(request: Request, ctx: SignedIn, tid: uuid.UUID) -> Response:
    board = partner_views.dashboard(ctx, tid)
    return _partner(
        request,
        ctx,
        "partner/dashboard.html",
        board=board,
        customer=board.summary.tenant,
        fields=customer_groups.customer_fields(ctx, tid),
        may_manage=customer_groups.may_manage(ctx),
    )


@pages.get("/partner/find")
def find(
    request: Request,
    ctx: SignedIn,
    q: str | None = None,
    disabled: bool = False,
    no_second_factor: bool = False,
    admin_role: bool = False,
    unlicensed: bool = False,
    group: str | None = None,
    except_group: str | None = None,
    cursor: str | None = None,
) -> Response:
    """Find and Assist: customers, domains and users by a term (``lookup``), and users across
    customers by filters and customer group (``user_search``); ticked users go to a new job."""
    term = (q or "").strip()
    hits = partner_views.lookup(ctx, term) if len(term) >= 2 and not cursor else None
    filters = user_search.UserFilters(
        query=term or None,
        disabled=True if disabled else None,
        no_second_factor=no_second_factor,
        admin_role=admin_role,
        unlicensed=unlicensed,
    )
    selection = web_selection(group, except_group)
    searched = bool(term) or filters != user_search.UserFilters() or selection is not None
    users = (
        user_search.search_users(ctx, selection, filters, cursor=cursor, limit=PAGE)
        if searched
        else None
    )
    chosen = {
        "q": term,
        "disabled": disabled,
        "no_second_factor": no_second_factor,
        "admin_role": admin_role,
        "unlicensed": unlicensed,
        "group": group or "",
        "except_group": except_group or "",
    }
    template = (
        "partner/find_results.html" if request.headers.get("hx-request") else "partner/find.html"
    )
    return _partner(
        request,
        ctx,
        template,
        q=term,
        hits=hits,
        users=users,
        chosen=chosen,
        next_query=urlencode({k: "on" if v is True else v for k, v in chosen.items() if v}),
        groups=customer_groups.group_choices(ctx),
    )


@pages.get("/partner/offers")
def offer_list(request: Request, ctx: SignedIn, cursor: str | None = None) -> Response:
    page = offers.list_offers(ctx, cursor=cursor, limit=PAGE)
    partner = partners.require_partner(ctx)
    links = {o.id: offers.url_for(ctx, o) for o in page.items}
    texts = {o.id: offers.email_text(ctx, o, partner) for o in page.items}
    return _partner(
        request,
        ctx,
        "partner/offers.html",
        page=page,
        links=links,
        texts=texts,
        mailto={o.id: offers.invitation_mailto(partner, texts[o.id]) for o in page.items},
        roles=list(Role),
    )


@pages.post("/partner/offers")
def make_offer(request: Request, ctx: SignedIn, form: Posted) -> Response:
    if form.get("kind") == OfferKind.CLASSIC:
        offer = offers.create_offer(ctx)
    else:
        roles = ticked(form, "role:")
        if not roles:
            raise InvalidInput("Choose at least one role for the offer.")
        days = form.get("days", "").strip()
        if not days.isdigit():
            raise InvalidInput("Duration: a number of days from 1 to 730.")
        customer = form.get("customer_tenant_id", "").strip()
        try:
            customer_id = uuid.UUID(customer) if customer else None
        except ValueError as exc:
            raise InvalidInput("Customer: paste the customer's organisation id.") from exc
        body = parse_form(
            form,
            OfferIn,
            roles=roles,
            duration=f"P{int(days)}D",
            auto_extend=form.get("auto_extend") == "on",
            customer_tenant_id=customer_id,
        )
        offer = offers.create_offer(
            ctx,
            roles=[role.value for role in body.roles or ()],
            duration=body.duration,
            auto_extend=body.auto_extend,
            customer_tenant_id=body.customer_tenant_id,
        )
    return redirect(
        request, f"/partner/offers#offer-{offer.id}", "Offer created: copy its link below."
    )


@pages.post("/partner/offers/{oid}/disable")
def disable_offer(request: Request, ctx: SignedIn, oid: uuid.UUID, form: Posted) -> Response:
    offers.update_offer(ctx, oid, enabled=False)
    return redirect(request, "/partner/offers", "Offer disabled; its link no longer works.")


@pages.get("/partner/agents")
def agents(request: Request, ctx: SignedIn, cursor: str | None = None) -> Response:
    partner = partners.require_partner(ctx)
    page = users.list_users(ctx, partner.id, search=None, cursor=cursor, limit=PAGE)
    return _partner(
        request,
        ctx,
        "partner/agents.html",
        page=page,
        levels=partner_agents.agent_levels(ctx, page.items),
    )


@pages.post("/partner/agents/{uid}")
def set_agent(request: Request, ctx: SignedIn, uid: uuid.UUID, form: Posted) -> Response:
    if form.get("access") not in set(AgentLevel):
        raise InvalidInput("Access is Full, Limited or None.")
    level = parse_form(form, AgentIn).access
    user = partner_agents.set_agent_access(ctx, uid, level)
    return redirect(request, "/partner/agents", f"{user.display_name}: {level} administration.")


@pages.get("/partner/relationships")
def relationship_list(request: Request, ctx: SignedIn, cursor: str | None = None) -> Response:
    page = partner_side.for_partner(
        ctx, status=None, customer_tenant_id=None, cursor=cursor, limit=PAGE
    )
    names = tenants.names(ctx, {r.customer_tenant_id for r in page.items if r.customer_tenant_id})
    return _partner(request, ctx, "partner/relationships.html", page=page, names=names)


@pages.post("/partner/relationships/{rid}/terminate")
def terminate(request: Request, ctx: SignedIn, rid: uuid.UUID, form: Posted) -> Response:
    partner_side.terminate_by_partner(ctx, rid)
    return redirect(request, "/partner/relationships", "Relationship terminated.")


@pages.get("/partner/audit")
def audit(request: Request, ctx: SignedIn, cursor: str | None = None) -> Response:
    page = partner_views.partner_audit(ctx, cursor=cursor, limit=PAGE)
    return _partner(request, ctx, "partner/audit.html", page=page)


@pages.get("/partner/relationships/{rid}")
def relationship_page(request: Request, ctx: SignedIn, rid: uuid.UUID) -> Response:
    relationship = partner_side.get_for_partner(ctx, rid)
    customer_id = relationship.customer_tenant_id
    groups = assignments.assignable_groups(ctx)
    return _partner(
        request,
        ctx,
        "partner/relationship.html",
        relationship=relationship,
        customer_name=tenants.names(ctx, {customer_id}).get(customer_id, ""),
        assignments=assignments.list_assignments(ctx, rid),
        groups=groups,
        group_names={g.id: g.name for g in groups},
    )


@pages.post("/partner/relationships/{rid}/assignments")
def add_assignment(request: Request, ctx: SignedIn, rid: uuid.UUID, form: Posted) -> Response:
    """Standing roles, eligible roles (with the longest activation, whether it needs an
    approver and which group approves), as POST .../access-assignments takes them."""
    body = assignment_terms(form, AccessAssignmentIn)
    assignments.add_assignment(
        ctx,
        rid,
        body.group_id,
        [r.value for r in body.roles],
        eligible_roles=[r.value for r in body.eligible_roles],
        max_activation_minutes=body.max_activation_minutes,
        approval_required=body.approval_required,
        approver_group_id=body.approver_group_id,
    )
    return redirect(request, f"/partner/relationships/{rid}", "Access assigned.")


@pages.post("/partner/relationships/{rid}/assignments/{aid}/remove")
def remove_assignment(
    request: Request, ctx: SignedIn, rid: uuid.UUID, aid: uuid.UUID, form: Posted
) -> Response:
    assignments.remove_assignment(ctx, rid, aid)
    return redirect(request, f"/partner/relationships/{rid}", "Access assignment removed.")


# --- just-in-time elevation: an agent's own access, and the approvers' queue ---------------


@pages.get("/partner/access")
def my_access(
    request: Request, ctx: SignedIn, choose: str | None = None, cursor: str | None = None
) -> Response:
    """What the agent may activate, a form to activate it, its requests waiting for approval,
    its active elevations with the time left, and its earlier ones."""
    eligible = activations.eligible_for_me(ctx)
    current = activations.mine(ctx, current=True, cursor=None, limit=200).items
    return _partner(
        request,
        ctx,
        "partner/access.html",
        eligible=eligible,
        chosen=choose or "",
        problem=activations.sign_in_problem(ctx) if eligible else None,
        pending=[r for r in current if r.activation.status_at(ctx.now) == PENDING],
        active=[r for r in current if r.activation.status_at(ctx.now) == ActivationStatus.ACTIVE],
        earlier=activations.mine(ctx, current=False, cursor=cursor, limit=PAGE),
        now=ctx.now,
    )


@pages.post("/partner/access/activate")
def activate(request: Request, ctx: SignedIn, form: Posted) -> Response:
    relationship, _, role = form.get("eligible", "").partition(":")
    if not relationship or not role:
        raise InvalidInput("Choose the role to activate.")
    body = parse_form(
        form,
        ActivationIn,
        relationship_id=relationship,
        role=role,
        ticket=form.get("ticket", "").strip() or None,
    )
    activation = activations.request_activation(
        ctx, body.relationship_id, body.role, body.minutes, body.justification, body.ticket
    )
    message = (
        f"{ROLE_NAMES[body.role]} is active for {body.minutes} minutes."
        if activation.status == ActivationStatus.ACTIVE
        else f"Your request for {ROLE_NAMES[body.role]} waits for approval."
    )
    return redirect(request, "/partner/access", message)


@pages.post("/partner/access/{aid}/end")
def end_activation(request: Request, ctx: SignedIn, aid: uuid.UUID, form: Posted) -> Response:
    ended = activations.end_for_partner(ctx, aid)
    what = "request is withdrawn" if ended.starts_at is None else "elevation has ended"
    return redirect(request, "/partner/access", f"Your {ROLE_NAMES[Role(ended.role)]} {what}.")


@pages.get("/partner/approvals")
def approvals(request: Request, ctx: SignedIn, cursor: str | None = None) -> Response:
    """Requests the signed-in person may approve or deny (of an approver group it is in,
    never its own), the longest waiting first."""
    page = activations.awaiting_my_approval(ctx, cursor=cursor, limit=PAGE)
    problem = activations.sign_in_problem(ctx, "Approving an activation") if page.items else None
    return _partner(request, ctx, "partner/approvals.html", page=page, problem=problem)


@pages.post("/partner/approvals/{aid}/approve")
def approve(request: Request, ctx: SignedIn, aid: uuid.UUID, form: Posted) -> Response:
    approved = activations.approve_for_partner(ctx, aid)
    row = activations.with_names(ctx, [approved])[0]
    who, role = approved.requester_upn, ROLE_NAMES[Role(approved.role)]
    message = (
        f"Approved: {who} holds {role} in {row.customer_name} for {approved.minutes} minutes."
        if approved.status == ActivationStatus.ACTIVE
        else f"Approved: {who}'s {role} in {row.customer_name} now waits for the customer's "
        "approval."
    )
    return redirect(request, "/partner/approvals", message)


@pages.post("/partner/approvals/{aid}/deny")
def deny(request: Request, ctx: SignedIn, aid: uuid.UUID, form: Posted) -> Response:
    denied = activations.deny_for_partner(ctx, aid)
    return redirect(
        request,
        "/partner/approvals",
        f"Denied: {denied.requester_upn} does not get {ROLE_NAMES[Role(denied.role)]}.",
    )
