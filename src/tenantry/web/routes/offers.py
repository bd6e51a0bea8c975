"""The page behind an offer link: who the partner is, what it asks for, "Yes, authorize"; or,
without an organisation, "Create your trial or subscription account"."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.api.schemas.identity import SignupIn
from tenantry.billing import subscriptions as billing
from tenantry.core.context import SecondFactor
from tenantry.core.errors import InvalidInput
from tenantry.identity import sign_in
from tenantry.partners import blocks as partner_blocks
from tenantry.partners import offers, signup
from tenantry.web import session as web_session
from tenantry.web.forms import parse_form
from tenantry.web.pages import MaybeSignedIn, Posted, SignedIn, redirect, render, router

pages = router()


@pages.get("/offers/{token}")
def offer_page(request: Request, ctx: MaybeSignedIn, token: str) -> Response:
    view = offers.describe(ctx, token)
    may_accept, why_not = False, None
    if ctx.principal is not None:
        decision = access.decide(ctx, ctx.principal.tenant_id)
        may_accept = decision.allows(Permission.PARTNER_RELATIONSHIPS_MANAGE)
        if not may_accept:
            why_not = offers.ONLY_GLOBAL_ADMINISTRATORS + " Ask one of them to open this link."
        elif partner_blocks.is_blocked(ctx, ctx.principal.tenant_id, view.partner.id):
            may_accept = False
            why_not = (
                f"Your organisation has blocked {view.partner.name}. To accept its offer, "
                "unblock it first under Partner relationships."
            )
    return render(
        request,
        ctx,
        "offer.html",
        view=view,
        token=token,
        duration=offers.format_duration(view.offer.duration_days),
        contact=offers.contact_line(view.partner),
        sku_names={s.id: s.name for s in billing.list_skus(ctx)},
        may_accept=may_accept,
        why_not=why_not,
        signup_open=ctx.settings.open_signup,
        suffix=ctx.settings.initial_domain_suffix,
    )


@pages.post("/offers/{token}/accept")
def accept(request: Request, ctx: SignedIn, token: str, form: Posted) -> Response:
    if form.get("authorize") != "yes":
        raise InvalidInput("Tick “Yes, authorize” to accept the offer.")
    view = offers.describe(ctx, token)
    offers.accept(ctx, token)
    return redirect(
        request,
        f"/admin/{ctx.require_principal().tenant_id}/partners",
        f"{view.partner.name} is now a delegated administrator of your organisation.",
    )


@pages.post("/offers/{token}/signup")
def sign_up(request: Request, ctx: MaybeSignedIn, token: str, form: Posted) -> Response:
    if form.get("authorize") != "yes":
        raise InvalidInput("Tick “Yes, authorize” to accept the offer.")
    if form.get("admin_password") != form.get("confirm_password"):
        raise InvalidInput("The two passwords are not the same.")
    body = parse_form(
        form, SignupIn, admin_display_name=form.get("admin_display_name") or None, offer_token=token
    )
    done = signup.sign_up(
        ctx,
        organization_name=body.organization_name,
        initial_domain=body.initial_domain,
        admin_password=body.admin_password,
        admin_display_name=body.admin_display_name,
        offer_token=token,
    )
    issued = sign_in.complete_sign_in(ctx, done.created.admin, SecondFactor.NONE)
    response = redirect(
        request,
        f"/admin/{done.created.tenant.id}",
        f"Welcome. You sign in as {done.created.admin.user_principal_name}.",
    )
    web_session.start_session(response, request, issued.access_token, issued.expires_in)
    return response
