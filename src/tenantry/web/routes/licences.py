"""Subscriptions and licences of a tenant: what it has, who holds each licence, assign and
unassign (from the subscription or from the user's page), buy or start a trial."""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import Response

from tenantry.billing import subscriptions as billing
from tenantry.core.errors import InvalidInput
from tenantry.directory import users
from tenantry.models.billing import SubscriptionStatus
from tenantry.web.pages import Posted, SignedIn, page_tenant, redirect, render_admin, router

pages = router()
PAGE = 25


@pages.get("/admin/{tid}/subscriptions")
def subscription_list(request: Request, ctx: SignedIn, tid: uuid.UUID) -> Response:
    tenant = page_tenant(ctx, tid)
    subscriptions = billing.list_subscriptions(ctx, tid)
    return render_admin(
        request,
        ctx,
        tenant,
        "admin/subscriptions.html",
        subscriptions=subscriptions,
        status={s.id: billing.effective_status(ctx, s) for s in subscriptions},
        sku_names=billing.sku_names(ctx),  # ordered by name: the purchase list too
    )


@pages.post("/admin/{tid}/subscriptions")
def buy(request: Request, ctx: SignedIn, tid: uuid.UUID, form: Posted) -> Response:
    seats = form.get("seats", "").strip()
    if not seats.isdigit():
        raise InvalidInput("Seats: a whole number, at least 1.")
    trial = form.get("kind") == SubscriptionStatus.TRIAL
    subscription = billing.purchase(
        ctx, tid, sku_id=form.get("sku_id", ""), seats=int(seats), trial=trial
    )
    return redirect(
        request,
        f"/admin/{tid}/subscriptions/{subscription.id}",
        "Trial started." if trial else "Subscription bought.",
    )


@pages.get("/admin/{tid}/subscriptions/{sid}")
def subscription_page(
    request: Request, ctx: SignedIn, tid: uuid.UUID, sid: uuid.UUID, cursor: str | None = None
) -> Response:
    tenant = page_tenant(ctx, tid)
    subscription = billing.get_subscription(ctx, tid, sid)
    holders = billing.list_licenses(ctx, tid, sid, cursor=cursor, limit=PAGE)
    return render_admin(
        request,
        ctx,
        tenant,
        "admin/subscription.html",
        subscription=subscription,
        status=billing.effective_status(ctx, subscription),
        product=billing.sku_names(ctx).get(subscription.sku_id, subscription.sku_id),
        holders=holders,
        upns=billing.upns(ctx, [h.user_id for h in holders.items]),
    )


@pages.post("/admin/{tid}/subscriptions/{sid}/licences")
def change_licence(
    request: Request, ctx: SignedIn, tid: uuid.UUID, sid: uuid.UUID, form: Posted
) -> Response:
    """Assign or unassign one user's licence; the form names the user by user name."""
    user = users.find_by_upn(ctx, tid, form.get("user_principal_name", ""))
    if form.get("action") == "unassign":
        billing.unassign_license(ctx, tid, sid, user.id)
        message = f"Licence removed from {user.display_name}."
    else:
        billing.assign_license(ctx, tid, sid, user.id)
        message = f"Licence assigned to {user.display_name}."
    back = form.get("back", "")
    if not back.startswith(f"/admin/{tid}/"):
        back = f"/admin/{tid}/subscriptions/{sid}"
    return redirect(request, back, message)
