"""The catalogue, subscriptions and licences."""

from __future__ import annotations

import uuid

from fastapi import Response

from tenantry.api.deps import Ctx, Cursor, Limit
from tenantry.api.routes import router
from tenantry.api.schemas.billing import (
    LicenseIn,
    LicenseOut,
    SkuOut,
    SubscriptionIn,
    SubscriptionOut,
)
from tenantry.api.schemas.common import ItemList
from tenantry.billing import subscriptions as billing
from tenantry.core.context import Context
from tenantry.models import LicenseAssignment, Sku, Subscription

api = router("subscriptions")


def subscription_out(ctx: Context, subscription: Subscription) -> SubscriptionOut:
    sku = ctx.session.get(Sku, subscription.sku_id)
    return SubscriptionOut(
        id=subscription.id,
        sku_id=subscription.sku_id,
        sku_name=sku.name if sku else "",
        seats=subscription.seats,
        assigned=subscription.assigned,
        status=billing.effective_status(ctx, subscription),
        trial_ends_at=subscription.trial_ends_at,
        created_at=subscription.created_at,
    )


def license_out(assignment: LicenseAssignment, upns: dict[uuid.UUID, str]) -> LicenseOut:
    return LicenseOut(
        subscription_id=assignment.subscription_id,
        user_id=assignment.user_id,
        user_principal_name=upns.get(assignment.user_id),
        assigned_at=assignment.assigned_at,
    )


@api.get("/skus", response_model=ItemList[SkuOut])
def list_skus(ctx: Ctx) -> ItemList[SkuOut]:
    return ItemList(items=[SkuOut.model_validate(s) for s in billing.list_skus(ctx)])


@api.get("/tenants/{tid}/subscriptions", response_model=ItemList[SubscriptionOut])
def list_subscriptions(tid: uuid.UUID, ctx: Ctx) -> ItemList[SubscriptionOut]:
    return ItemList(items=[subscription_out(ctx, s) for s in billing.list_subscriptions(ctx, tid)])


@api.post("/tenants/{tid}/subscriptions", status_code=201, response_model=SubscriptionOut)
def purchase(tid: uuid.UUID, body: SubscriptionIn, ctx: Ctx) -> SubscriptionOut:
    """Buy seats of a product, or start its trial with ``trial: true``."""
    subscription = billing.purchase(
        ctx, tid, sku_id=body.sku_id, seats=body.seats, trial=body.trial
    )
    return subscription_out(ctx, subscription)


@api.get("/tenants/{tid}/subscriptions/{sid}", response_model=SubscriptionOut)
def get_subscription(tid: uuid.UUID, sid: uuid.UUID, ctx: Ctx) -> SubscriptionOut:
    return subscription_out(ctx, billing.get_subscription(ctx, tid, sid))


@api.get("/tenants/{tid}/subscriptions/{sid}/licenses", response_model=ItemList[LicenseOut])
def list_licenses(
    tid: uuid.UUID, sid: uuid.UUID, ctx: Ctx, cursor: Cursor = None, limit: Limit = 50
) -> ItemList[LicenseOut]:
    page = billing.list_licenses(ctx, tid, sid, cursor=cursor, limit=limit)
    upns = billing.upns(ctx, [a.user_id for a in page.items])
    return ItemList(items=[license_out(a, upns) for a in page.items], next_cursor=page.next_cursor)


@api.post("/tenants/{tid}/subscriptions/{sid}/licenses", status_code=201, response_model=LicenseOut)
def assign_license(tid: uuid.UUID, sid: uuid.UUID, body: LicenseIn, ctx: Ctx) -> LicenseOut:
    assignment = billing.assign_license(ctx, tid, sid, body.user_id)
    return license_out(assignment, billing.upns(ctx, [assignment.user_id]))


@api.delete("/tenants/{tid}/subscriptions/{sid}/licenses/{uid}", status_code=204)
def unassign_license(tid: uuid.UUID, sid: uuid.UUID, uid: uuid.UUID, ctx: Ctx) -> Response:
    billing.unassign_license(ctx, tid, sid, uid)
    return Response(status_code=204)
