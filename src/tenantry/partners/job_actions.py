"""What one item of a bulk job does: the same service functions the API and the pages call
(directory, billing, support), with the agent's context, so each item passes the same access
decision and is audited in its customer like the one-at-a-time request would be.

Each function raises the service's own errors (Forbidden, NotFound, Conflict...); the runner
turns them into the item's outcome and message. The parameters were checked when the job was
made (partners/jobs.py ``check_params``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.billing import subscriptions as billing
from tenantry.core.context import Context
from tenantry.core.errors import NotFound
from tenantry.directory import groups, users
from tenantry.identity import tokens
from tenantry.models import Group, GroupMember, Subscription, SubscriptionStatus
from tenantry.models.jobs import JobAction
from tenantry.support import requests as support


@dataclass(frozen=True)
class Outcome:
    """What an item did, in words; ``secret`` is a temporary password to hand over once."""

    message: str
    secret: str | None = None


Run = Callable[[Context, uuid.UUID, uuid.UUID | None, dict[str, Any]], Outcome]


def _user(user_id: uuid.UUID | None) -> uuid.UUID:
    if user_id is None:  # items of user actions always name a user (checked when made)
        raise NotFound("User not found.")
    return user_id


def reset_password(
    ctx: Context, tid: uuid.UUID, uid: uuid.UUID | None, _: dict[str, Any]
) -> Outcome:
    temporary = users.reset_password(ctx, tid, _user(uid))
    return Outcome("Temporary password set; the user changes it at next sign-in.", temporary)


def require_password_change(
    ctx: Context, tid: uuid.UUID, uid: uuid.UUID | None, _: dict[str, Any]
) -> Outcome:
    users.require_password_change(ctx, tid, _user(uid))
    return Outcome("The user must choose a new password at next sign-in.")


def _set_enabled(ctx: Context, tid: uuid.UUID, uid: uuid.UUID | None, enabled: bool) -> Outcome:
    user = users.update_user(ctx, tid, _user(uid), display_name=None, enabled=enabled)
    return Outcome(f"Sign-in {'allowed' if user.enabled else 'blocked'}.")


def block_sign_in(
    ctx: Context, tid: uuid.UUID, uid: uuid.UUID | None, _: dict[str, Any]
) -> Outcome:
    return _set_enabled(ctx, tid, uid, False)


def unblock_sign_in(
    ctx: Context, tid: uuid.UUID, uid: uuid.UUID | None, _: dict[str, Any]
) -> Outcome:
    return _set_enabled(ctx, tid, uid, True)


def _subscription_for(ctx: Context, tid: uuid.UUID, sku_id: str) -> Subscription:
    """The customer's subscription of the SKU with a free seat (the oldest first)."""
    held = [
        s
        for s in billing.list_subscriptions(ctx, tid)
        if s.sku_id == sku_id and billing.effective_status(ctx, s) != SubscriptionStatus.EXPIRED
    ]
    if not held:
        raise NotFound(f"This organisation has no live subscription of {sku_id}.")
    free = [s for s in held if s.assigned < s.seats]
    return (free or held)[0]


def assign_license(
    ctx: Context, tid: uuid.UUID, uid: uuid.UUID | None, params: dict[str, Any]
) -> Outcome:
    subscription = _subscription_for(ctx, tid, params["sku_id"])
    billing.assign_license(ctx, tid, subscription.id, _user(uid))
    return Outcome(f"Licence {params['sku_id']} assigned.")


def _held_of_sku(
    ctx: Context, tid: uuid.UUID, uid: uuid.UUID, sku_id: str | None
) -> list[uuid.UUID]:
    held = billing.subscriptions_of_user(ctx, tid, uid)
    if not held:
        return []
    stmt = select(Subscription.id).where(Subscription.id.in_(held))
    if sku_id is not None:
        stmt = stmt.where(Subscription.sku_id == sku_id)
    return sorted(ctx.session.scalars(stmt))


def unassign_license(
    ctx: Context, tid: uuid.UUID, uid: uuid.UUID | None, params: dict[str, Any]
) -> Outcome:
    held = _held_of_sku(ctx, tid, _user(uid), params["sku_id"])
    if not held:
        raise NotFound(f"The user holds no licence of {params['sku_id']}.")
    for sid in held:
        billing.unassign_license(ctx, tid, sid, _user(uid))
    return Outcome(f"Licence {params['sku_id']} removed.")


def _group_named(ctx: Context, tid: uuid.UUID, name: str) -> uuid.UUID:
    """The customer's group of that name (each customer has its own groups)."""
    access.require(ctx, tid, Permission.GROUPS_READ)
    found = ctx.session.scalar(select(Group.id).where(Group.tenant_id == tid, Group.name == name))
    if found is None:
        raise NotFound(f"This organisation has no group named '{name}'.")
    return found


def add_to_group(
    ctx: Context, tid: uuid.UUID, uid: uuid.UUID | None, params: dict[str, Any]
) -> Outcome:
    groups.add_member(ctx, tid, _group_named(ctx, tid, params["group"]), _user(uid))
    return Outcome(f"Added to '{params['group']}'.")


def remove_from_group(
    ctx: Context, tid: uuid.UUID, uid: uuid.UUID | None, params: dict[str, Any]
) -> Outcome:
    groups.remove_member(ctx, tid, _group_named(ctx, tid, params["group"]), _user(uid))
    return Outcome(f"Removed from '{params['group']}'.")


def offboard(ctx: Context, tid: uuid.UUID, uid: uuid.UUID | None, _: dict[str, Any]) -> Outcome:
    """Block sign-in, end every session and token, take back licences and group memberships:
    all of it or (refused, failed) none of it."""
    user_id = _user(uid)
    user = users.update_user(ctx, tid, user_id, display_name=None, enabled=False)
    tokens.revoke_user_tokens(ctx, user.id)  # also when the user was blocked already
    licences = _held_of_sku(ctx, tid, user_id, None)
    for sid in licences:
        billing.unassign_license(ctx, tid, sid, user_id)
    access.require(ctx, tid, Permission.GROUPS_READ)
    member_of = list(
        ctx.session.scalars(
            select(GroupMember.group_id)
            .join(Group, Group.id == GroupMember.group_id)
            .where(GroupMember.user_id == user_id, Group.tenant_id == tid)
            .order_by(GroupMember.group_id)
        )
    )
    for group_id in member_of:
        groups.remove_member(ctx, tid, group_id, user_id)
    return Outcome(
        f"Sign-in blocked, sessions ended, {len(licences)} licence(s) and "
        f"{len(member_of)} group membership(s) removed."
    )


def raise_service_request(
    ctx: Context, tid: uuid.UUID, _uid: uuid.UUID | None, params: dict[str, Any]
) -> Outcome:
    request = support.create_request(
        ctx, tid, title=params["title"], description=params["description"]
    )
    return Outcome(f"Service request {request.id} opened.")


ACTIONS: dict[JobAction, Run] = {
    JobAction.RESET_PASSWORD: reset_password,
    JobAction.REQUIRE_PASSWORD_CHANGE: require_password_change,
    JobAction.BLOCK_SIGN_IN: block_sign_in,
    JobAction.UNBLOCK_SIGN_IN: unblock_sign_in,
    JobAction.ASSIGN_LICENSE: assign_license,
    JobAction.UNASSIGN_LICENSE: unassign_license,
    JobAction.ADD_TO_GROUP: add_to_group,
    JobAction.REMOVE_FROM_GROUP: remove_from_group,
    JobAction.OFFBOARD: offboard,
    JobAction.RAISE_SERVICE_REQUEST: raise_service_request,
}
