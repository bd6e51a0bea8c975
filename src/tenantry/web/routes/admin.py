"""The Admin center of one tenant. The same pages serve the tenant's own admins and partner
agents administering it on behalf (the layout shows the banner); the services decide."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

from fastapi import Request
from fastapi.responses import Response

from tenantry import access
from tenantry.access.roles import (
    DELEGATION_EXCLUSIONS,
    PERMISSION_WORDS,
    ROLE_NAMES,
    Permission,
    Role,
)
from tenantry.api.schemas.directory import TenantPatch, UserIn, UserPatch
from tenantry.api.schemas.partners import PartnerPolicyIO
from tenantry.audit import chain as audit
from tenantry.audit import log as audit_log
from tenantry.billing import subscriptions as billing
from tenantry.core.errors import InvalidInput
from tenantry.directory import role_assignments, tenants, users
from tenantry.models import Activation
from tenantry.models.partners import ActivationStatus
from tenantry.models.support import RequestStatus
from tenantry.partners import activations, customer_side
from tenantry.partners import blocks as partner_blocks
from tenantry.partners import policy as partner_policy
from tenantry.partners.relationships import parse_version
from tenantry.support import health
from tenantry.support import requests as support
from tenantry.web.forms import parse_form
from tenantry.web.pages import (
    Posted,
    SignedIn,
    page_tenant,
    redirect,
    render_admin,
    router,
    ticked,
)

pages = router()
PAGE = 25


@pages.get("/admin/{tid}")
def home(request: Request, ctx: SignedIn, tid: uuid.UUID) -> Response:
    tenant = page_tenant(ctx, tid)
    decision = access.decide(ctx, tid)
    subscriptions = (
        billing.list_subscriptions(ctx, tid)
        if decision.allows(Permission.SUBSCRIPTIONS_READ)
        else []
    )
    open_requests = (
        support.list_requests(ctx, tid, status=RequestStatus.OPEN, cursor=None, limit=50).items
        if decision.allows(Permission.SERVICE_REQUESTS_READ)
        else []
    )
    return render_admin(
        request,
        ctx,
        tenant,
        "admin/home.html",
        services=health.overview(ctx),
        used=sum(s.assigned for s in subscriptions),
        total=sum(s.seats for s in subscriptions),
        open_requests=open_requests,
        default_domain=tenants.default_domain(ctx, tid),
    )


# --- users ------------------------------------------------------------------------------


@pages.get("/admin/{tid}/users")
def user_list(
    request: Request,
    ctx: SignedIn,
    tid: uuid.UUID,
    search: str | None = None,
    cursor: str | None = None,
) -> Response:
    tenant = page_tenant(ctx, tid)
    page = users.list_users(ctx, tid, search=search, cursor=cursor, limit=PAGE)
    return render_admin(request, ctx, tenant, "admin/users.html", page=page, search=search or "")


@pages.get("/admin/{tid}/users/new")
def new_user_page(request: Request, ctx: SignedIn, tid: uuid.UUID) -> Response:
    tenant = page_tenant(ctx, tid)
    decision = access.decide(ctx, tid)
    refused = None
    if not decision.allows(Permission.USERS_CREATE):
        refused = decision.explain(Permission.USERS_CREATE)
    domain = tenants.default_domain(ctx, tid)
    return render_admin(request, ctx, tenant, "admin/user_new.html", domain=domain, refused=refused)


@pages.post("/admin/{tid}/users")
def create_user(request: Request, ctx: SignedIn, tid: uuid.UUID, form: Posted) -> Response:
    tenant = page_tenant(ctx, tid)
    body = parse_form(form, UserIn)
    created = users.create_user(
        ctx,
        tid,
        user_principal_name=body.user_principal_name,
        display_name=body.display_name,
        password=None,
    )
    return render_admin(
        request,
        ctx,
        tenant,
        "admin/password_shown.html",
        user=created.user,
        temporary=created.temporary_password,
        heading=f"{created.user.display_name} is created",
    )


@pages.get("/admin/{tid}/users/{uid}")
def user_page(request: Request, ctx: SignedIn, tid: uuid.UUID, uid: uuid.UUID) -> Response:
    tenant = page_tenant(ctx, tid)
    user = users.get_user(ctx, tid, uid)
    decision = access.decide(ctx, tid)
    roles = (
        role_assignments.list_assignments(
            ctx, tid, user_id=uid, group_id=None, cursor=None, limit=200
        ).items
        if decision.allows(Permission.ROLES_READ)
        else None
    )
    readable = decision.allows(Permission.SUBSCRIPTIONS_READ)
    return render_admin(
        request,
        ctx,
        tenant,
        "admin/user.html",
        user=user,
        roles=roles,
        all_roles=list(Role),
        subscriptions=billing.list_subscriptions(ctx, tid) if readable else None,
        held=billing.subscriptions_of_user(ctx, tid, uid) if readable else set(),
        sku_names=billing.sku_names(ctx) if readable else {},
        may_reset_mfa=users.may_reset_second_factor(ctx, tid, user),
    )


@pages.post("/admin/{tid}/users/{uid}")
def update_user(
    request: Request, ctx: SignedIn, tid: uuid.UUID, uid: uuid.UUID, form: Posted
) -> Response:
    enabled = {"enable": True, "disable": False}.get(form.get("action", ""))
    body = parse_form(
        form, UserPatch, display_name=form.get("display_name") or None, enabled=enabled
    )
    users.update_user(ctx, tid, uid, display_name=body.display_name, enabled=body.enabled)
    return redirect(request, f"/admin/{tid}/users/{uid}", "Saved.")


@pages.post("/admin/{tid}/users/{uid}/reset-password")
def reset_password(
    request: Request, ctx: SignedIn, tid: uuid.UUID, uid: uuid.UUID, form: Posted
) -> Response:
    tenant = page_tenant(ctx, tid)
    temporary = users.reset_password(ctx, tid, uid)
    user = users.get_user(ctx, tid, uid)
    return render_admin(
        request,
        ctx,
        tenant,
        "admin/password_shown.html",
        user=user,
        temporary=temporary,
        heading=f"New temporary password for {user.display_name}",
    )


@pages.post("/admin/{tid}/users/{uid}/reset-mfa")
def reset_mfa(
    request: Request, ctx: SignedIn, tid: uuid.UUID, uid: uuid.UUID, form: Posted
) -> Response:
    user = users.reset_second_factor(ctx, tid, uid)
    return redirect(
        request,
        f"/admin/{tid}/users/{uid}",
        f"The second factor of {user.display_name} is reset; their sessions ended.",
    )


@pages.post("/admin/{tid}/users/{uid}/roles")
def assign_role(
    request: Request, ctx: SignedIn, tid: uuid.UUID, uid: uuid.UUID, form: Posted
) -> Response:
    try:
        role = Role(form.get("role", ""))
    except ValueError as exc:
        raise InvalidInput("Choose a role from the list.") from exc
    role_assignments.assign_role(ctx, tid, role, user_id=uid, group_id=None)
    return redirect(request, f"/admin/{tid}/users/{uid}", "Role assigned.")


@pages.post("/admin/{tid}/role-assignments/{aid}/remove")
def remove_role(
    request: Request, ctx: SignedIn, tid: uuid.UUID, aid: uuid.UUID, form: Posted
) -> Response:
    role_assignments.remove_assignment(ctx, tid, aid)
    back = form.get("back", f"/admin/{tid}/users")
    return redirect(request, back if back.startswith(f"/admin/{tid}/") else "/", "Role removed.")


# --- audit log --------------------------------------------------------------------------


def _date(value: str | None, field: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(datetime.strptime(value, "%Y-%m-%d").date(), time.min)
    except ValueError as exc:
        raise InvalidInput(f"{field}: use a date like 2026-11-23.") from exc


@pages.get("/admin/{tid}/audit")
def audit_page(
    request: Request,
    ctx: SignedIn,
    tid: uuid.UUID,
    actor: str | None = None,
    action: str | None = None,
    who: str | None = None,
    since: str | None = None,
    until: str | None = None,
    cursor: str | None = None,
) -> Response:
    tenant = page_tenant(ctx, tid)
    partner_names = audit_log.partners_of(ctx, tid)
    one_partner = next((p for p in partner_names if str(p) == who), None)
    last_day = _date(until, "To")
    filters = audit.AuditFilter(
        action=action or None,
        actor=actor or None,
        since=_date(since, "From"),
        until=last_day + timedelta(days=1) if last_day else None,  # "To" includes that day
        by_partner={"partner": True, "own": False}.get(who or ""),
        partner_tenant_id=one_partner,
    )
    page = audit_log.tenant_events(ctx, tid, filters, cursor, PAGE)
    query = {"actor": actor, "action": action, "who": who, "since": since, "until": until}
    return render_admin(
        request,
        ctx,
        tenant,
        "admin/audit.html",
        page=page,
        filters={k: v or "" for k, v in query.items()},
        partner_names=partner_names,
    )


# --- partner relationships and settings --------------------------------------------------


@pages.get("/admin/{tid}/partners")
def partners_page(
    request: Request,
    ctx: SignedIn,
    tid: uuid.UUID,
    cursor: str | None = None,
    activations_cursor: str | None = None,
) -> Response:
    tenant = page_tenant(ctx, tid)
    page = customer_side.for_customer(ctx, tid, cursor=cursor, limit=PAGE)
    blocks = partner_blocks.list_blocks(ctx, tid, limit=200).items
    former = partner_blocks.former_partners(ctx, tid)
    return render_admin(
        request,
        ctx,
        tenant,
        "admin/partners.html",
        page=page,
        rows=page.items,
        blocks=blocks,
        former=former,
        activations=activations.for_customer(ctx, tid, cursor=activations_cursor, limit=PAGE),
        may_decide=activations.may_decide_for_customer(ctx, tid),
        now=ctx.now,
    )


def _activation_done(
    request: Request, tid: uuid.UUID, activation: Activation, done: str
) -> Response:
    return redirect(
        request,
        f"/admin/{tid}/partners#activations",
        f"{activation.requester_upn}'s {ROLE_NAMES[Role(activation.role)]}: {done}.",
    )


@pages.post("/admin/{tid}/partner-activations/{aid}/approve")
def approve_activation(
    request: Request, ctx: SignedIn, tid: uuid.UUID, aid: uuid.UUID, form: Posted
) -> Response:
    approved = activations.approve_for_customer(ctx, tid, aid)
    done = (
        f"approved, active for {approved.minutes} minutes"
        if approved.status == ActivationStatus.ACTIVE
        else "approved by you; it still waits for the partner's approver"
    )
    return _activation_done(request, tid, approved, done)


@pages.post("/admin/{tid}/partner-activations/{aid}/deny")
def deny_activation(
    request: Request, ctx: SignedIn, tid: uuid.UUID, aid: uuid.UUID, form: Posted
) -> Response:
    return _activation_done(
        request, tid, activations.deny_for_customer(ctx, tid, aid), "request denied"
    )


@pages.post("/admin/{tid}/partner-activations/{aid}/end")
def end_activation(
    request: Request, ctx: SignedIn, tid: uuid.UUID, aid: uuid.UUID, form: Posted
) -> Response:
    ended = activations.end_for_customer(ctx, tid, aid)
    return _activation_done(
        request, tid, ended, "ended now" if ended.starts_at else "request withdrawn"
    )


@pages.post("/admin/{tid}/partners/{rid}/remove")
def remove_partner(
    request: Request, ctx: SignedIn, tid: uuid.UUID, rid: uuid.UUID, form: Posted
) -> Response:
    _, partner = customer_side.get_for_customer(ctx, tid, rid)
    customer_side.remove_by_customer(ctx, tid, rid)
    if form.get("block") == "yes":
        partner_blocks.block(ctx, tid, partner.id)
        return redirect(
            request,
            f"/admin/{tid}/partners",
            f"The partner's access is removed and {partner.name} is blocked.",
        )
    return redirect(request, f"/admin/{tid}/partners", "The partner's access is removed.")


@pages.post("/admin/{tid}/partners/{rid}/auto-extend")
def set_auto_extend(
    request: Request, ctx: SignedIn, tid: uuid.UUID, rid: uuid.UUID, form: Posted
) -> Response:
    on = form.get("auto_extend") == "on"
    # The form carries the version it was rendered with, as a plain number.
    version = parse_version(form.get("etag", "").strip())
    customer_side.patch_for_customer(ctx, tid, rid, expected_version=version, auto_extend=on)
    return redirect(request, f"/admin/{tid}/partners", f"Auto-extend is {'on' if on else 'off'}.")


@pages.post("/admin/{tid}/partner-blocks/{pid}")
def block_partner(
    request: Request, ctx: SignedIn, tid: uuid.UUID, pid: uuid.UUID, form: Posted
) -> Response:
    view = partner_blocks.block(ctx, tid, pid)
    return redirect(request, f"/admin/{tid}/partners", f"{view.partner_name} is blocked.")


@pages.post("/admin/{tid}/partner-blocks/{pid}/remove")
def unblock_partner(
    request: Request, ctx: SignedIn, tid: uuid.UUID, pid: uuid.UUID, form: Posted
) -> Response:
    partner_blocks.unblock(ctx, tid, pid)
    return redirect(request, f"/admin/{tid}/partners", "The partner is unblocked.")


@pages.get("/admin/{tid}/settings")
def settings_page(request: Request, ctx: SignedIn, tid: uuid.UUID) -> Response:
    tenant = page_tenant(ctx, tid)
    readable = access.decide(ctx, tid).allows(Permission.PARTNER_RELATIONSHIPS_READ)
    policy = partner_policy.get_policy(ctx, tid) if readable else None
    return render_admin(
        request,
        ctx,
        tenant,
        "admin/settings.html",
        blocked=None if policy is None else set(policy.blocked_permissions),
        allow_privileged_roles=bool(policy and policy.allow_privileged_roles),
        approve_global_admin=bool(policy and policy.require_customer_approval_for_global_admin),
        blockable=[
            (p.value, PERMISSION_WORDS[p]) for p in Permission if p not in DELEGATION_EXCLUSIONS
        ],
    )


@pages.post("/admin/{tid}/settings/contact")
def save_contact(request: Request, ctx: SignedIn, tid: uuid.UUID, form: Posted) -> Response:
    fields = ("name", "street", "city", "postal_code", "country", "phone")
    body = parse_form(
        form,
        TenantPatch,
        **{field: form.get(field, "") for field in fields},
        technical_contact_email=form.get("technical_contact_email") or None,
    )
    tenants.update_tenant(ctx, tid, body.model_dump(exclude_unset=True))
    return redirect(request, f"/admin/{tid}/settings", "Contact details saved.")


@pages.post("/admin/{tid}/settings/partner-policy")
def save_policy(request: Request, ctx: SignedIn, tid: uuid.UUID, form: Posted) -> Response:
    body = parse_form(
        form,
        PartnerPolicyIO,
        blocked_permissions=ticked(form, "block:"),
        allow_privileged_roles=form.get("allow_privileged_roles") == "on",
        require_customer_approval_for_global_admin=(
            form.get("require_customer_approval_for_global_admin") == "on"
        ),
    )
    partner_policy.set_policy(
        ctx,
        tid,
        body.blocked_permissions,
        allow_privileged_roles=body.allow_privileged_roles,
        require_customer_approval_for_global_admin=body.require_customer_approval_for_global_admin,
    )
    return redirect(request, f"/admin/{tid}/settings", "Partner policy saved.")
