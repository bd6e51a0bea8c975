"""Catalogue, subscriptions (purchase, trial) and licences that never exceed seats.

Seats in use are counted on the subscription row and moved with conditional UPDATEs, so two
concurrent assignments of the last seat can't both succeed on any database.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import Select, delete, select, update

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import Conflict, InvalidInput, NotFound
from tenantry.core.pagination import Page, paginate
from tenantry.core.scoped import get_scoped
from tenantry.directory.tenants import lock_tenant
from tenantry.models import LicenseAssignment, Sku, Subscription, User
from tenantry.models.billing import SubscriptionStatus
from tenantry.operations import webhooks

MAX_SEATS = 100_000


def list_skus(ctx: Context) -> list[Sku]:
    return list(ctx.session.scalars(select(Sku).order_by(Sku.name)))


def effective_status(ctx: Context, subscription: Subscription) -> SubscriptionStatus:
    if (
        subscription.status == SubscriptionStatus.TRIAL
        and subscription.trial_ends_at is not None
        and subscription.trial_ends_at <= ctx.now
    ):
        return SubscriptionStatus.EXPIRED
    return subscription.status


def list_subscriptions(ctx: Context, tenant_id: uuid.UUID) -> list[Subscription]:
    access.require(ctx, tenant_id, Permission.SUBSCRIPTIONS_READ)
    return list(
        ctx.session.scalars(
            select(Subscription)
            .where(Subscription.tenant_id == tenant_id)
            .order_by(Subscription.created_at, Subscription.id)
        )
    )


def get_subscription(ctx: Context, tenant_id: uuid.UUID, sid: uuid.UUID) -> Subscription:
    access.require(ctx, tenant_id, Permission.SUBSCRIPTIONS_READ)
    return get_scoped(ctx.session, Subscription, sid, tenant_id, "Subscription")


def create_subscription(
    ctx: Context,
    tenant_id: uuid.UUID,
    *,
    sku_id: str,
    seats: int,
    trial: bool,
    trial_days: int | None = None,
) -> Subscription:
    """Rules shared by a purchase, a trial and (later) an accepted partner offer."""
    sku = ctx.session.get(Sku, sku_id)
    if sku is None:
        raise InvalidInput(f"There is no product '{sku_id}'; see GET /skus.", slug="unknown-sku")
    if not 1 <= seats <= MAX_SEATS:
        raise InvalidInput(f"Seats must be between 1 and {MAX_SEATS}.")
    if trial:
        lock_tenant(ctx, tenant_id)  # parallel trial starts check one after another
        has_trial = ctx.session.scalar(
            select(Subscription.id).where(
                Subscription.tenant_id == tenant_id,
                Subscription.sku_id == sku.id,
                Subscription.trial_ends_at.is_not(None),
            )
        )
        if has_trial:
            raise Conflict(
                f"This organisation has already had a trial of {sku.name}.", slug="trial-used"
            )
    days = trial_days or sku.trial_days
    subscription = Subscription(
        tenant_id=tenant_id,
        sku_id=sku.id,
        seats=seats,
        assigned=0,
        status=SubscriptionStatus.TRIAL if trial else SubscriptionStatus.ACTIVE,
        trial_ends_at=ctx.now + timedelta(days=days) if trial else None,
        created_at=ctx.now,
    )
    ctx.session.add(subscription)
    ctx.session.flush()
    audit.record(
        ctx,
        tenant_id,
        "subscription.trial" if trial else "subscription.purchase",
        f"subscription:{subscription.id}",
        details={"sku": sku.id, "seats": seats},
    )
    return subscription


def purchase(
    ctx: Context, tenant_id: uuid.UUID, *, sku_id: str, seats: int, trial: bool
) -> Subscription:
    access.require(ctx, tenant_id, Permission.SUBSCRIPTIONS_PURCHASE)
    return create_subscription(ctx, tenant_id, sku_id=sku_id, seats=seats, trial=trial)


def list_licenses(
    ctx: Context, tenant_id: uuid.UUID, sid: uuid.UUID, *, cursor: str | None, limit: int
) -> Page[LicenseAssignment]:
    access.require(ctx, tenant_id, Permission.SUBSCRIPTIONS_READ)
    get_scoped(ctx.session, Subscription, sid, tenant_id, "Subscription")
    stmt: Select[LicenseAssignment] = select(LicenseAssignment).where(
        LicenseAssignment.subscription_id == sid
    )
    return paginate(
        ctx.session, stmt, [LicenseAssignment.assigned_at, LicenseAssignment.id], cursor, limit
    )


def subscriptions_of_user(ctx: Context, tenant_id: uuid.UUID, user_id: uuid.UUID) -> set[uuid.UUID]:
    """The subscriptions whose licence this user holds (the user page's licence switches)."""
    access.require(ctx, tenant_id, Permission.SUBSCRIPTIONS_READ)
    get_scoped(ctx.session, User, user_id, tenant_id, "User")
    return set(
        ctx.session.scalars(
            select(LicenseAssignment.subscription_id).where(
                LicenseAssignment.tenant_id == tenant_id, LicenseAssignment.user_id == user_id
            )
        )
    )


def sku_names(ctx: Context) -> dict[str, str]:
    return {sku.id: sku.name for sku in list_skus(ctx)}


def upns(ctx: Context, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = ctx.session.execute(
        select(User.id, User.user_principal_name).where(User.id.in_(user_ids))
    ).all()
    return {user_id: upn for user_id, upn in rows}


def assign_license(
    ctx: Context, tenant_id: uuid.UUID, sid: uuid.UUID, user_id: uuid.UUID
) -> LicenseAssignment:
    access.require(ctx, tenant_id, Permission.LICENSES_ASSIGN)
    subscription = get_scoped(ctx.session, Subscription, sid, tenant_id, "Subscription")
    user = get_scoped(ctx.session, User, user_id, tenant_id, "User")
    if effective_status(ctx, subscription) == SubscriptionStatus.EXPIRED:
        raise Conflict("This subscription has expired.", slug="subscription-expired")
    if ctx.session.scalar(
        select(LicenseAssignment.id).where(
            LicenseAssignment.subscription_id == sid, LicenseAssignment.user_id == user.id
        )
    ):
        raise Conflict(f"{user.user_principal_name} already has this licence.", slug="duplicate")
    # The user before the subscription, as deleting a user locks them (users.release_licenses).
    ctx.session.execute(
        select(User.id).where(User.id == user.id).with_for_update(key_share=True, read=True)
    )
    took = ctx.session.execute(
        update(Subscription)
        .where(Subscription.id == sid, Subscription.assigned < Subscription.seats)
        .values(assigned=Subscription.assigned + 1)
        .execution_options(synchronize_session=False)
    )
    if took.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            f"All {subscription.seats} seats are assigned; buy more or free one.", slug="no-seats"
        )
    assignment = LicenseAssignment(
        tenant_id=tenant_id, subscription_id=sid, user_id=user.id, assigned_at=ctx.now
    )
    ctx.session.add(assignment)
    ctx.session.flush()
    ctx.session.refresh(subscription)
    audit.record(
        ctx,
        tenant_id,
        "license.assign",
        f"user:{user.id}",
        details={"subscription": str(sid), "sku": subscription.sku_id},
    )
    webhooks.license_changed(ctx, webhooks.EventType.LICENSE_ASSIGNED, user.id, subscription)
    return assignment


def unassign_license(
    ctx: Context, tenant_id: uuid.UUID, sid: uuid.UUID, user_id: uuid.UUID
) -> None:
    """The seat is freed only when this transaction deleted the licence row, so a double click
    or two admins at once free it once (the second finds no licence: 404)."""
    access.require(ctx, tenant_id, Permission.LICENSES_UNASSIGN)
    subscription = get_scoped(ctx.session, Subscription, sid, tenant_id, "Subscription")
    ctx.session.refresh(subscription, with_for_update=True)
    removed = ctx.session.scalar(
        delete(LicenseAssignment)
        .where(LicenseAssignment.subscription_id == sid, LicenseAssignment.user_id == user_id)
        .returning(LicenseAssignment.id)
        .execution_options(synchronize_session=False)
    )
    if removed is None:
        raise NotFound("That user has no licence of this subscription.")
    ctx.session.execute(
        update(Subscription)
        .where(Subscription.id == sid)
        .values(assigned=Subscription.assigned - 1)
        .execution_options(synchronize_session=False)
    )
    ctx.session.refresh(subscription)
    audit.record(
        ctx,
        tenant_id,
        "license.unassign",
        f"user:{user_id}",
        details={"subscription": str(sid), "sku": subscription.sku_id},
    )
    webhooks.license_changed(ctx, webhooks.EventType.LICENSE_UNASSIGNED, user_id, subscription)
