"""The customer's partner policy: what no partner may do here, whatever roles it holds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import InvalidInput
from tenantry.models import PartnerPolicy


@dataclass(frozen=True)
class PolicyView:
    """The customer's partner policy: what partners may never do here, and whether they may
    give admin roles on behalf (off by default: no standing power minted by a partner)."""

    blocked_permissions: list[str]
    allow_privileged_roles: bool
    # A partner's activation of Global Administrator also needs one of ours to approve it.
    require_customer_approval_for_global_admin: bool = False


def get_policy(ctx: Context, tenant_id: uuid.UUID) -> PolicyView:
    access.require(ctx, tenant_id, Permission.PARTNER_RELATIONSHIPS_READ)
    policy = ctx.session.get(PartnerPolicy, tenant_id)
    if policy is None:
        return PolicyView([], False)
    return PolicyView(
        sorted(policy.blocked_permissions),
        policy.allow_privileged_roles,
        policy.require_customer_approval_for_global_admin,
    )


def set_policy(
    ctx: Context,
    tenant_id: uuid.UUID,
    blocked: list[str],
    *,
    allow_privileged_roles: bool = False,
    require_customer_approval_for_global_admin: bool | None = None,
) -> PolicyView:
    """Replace the policy; ``require_customer_approval_for_global_admin`` None keeps it as it
    is (a form that does not show it must not turn it off)."""
    access.require(ctx, tenant_id, Permission.PARTNER_RELATIONSHIPS_MANAGE)
    try:
        values = sorted({Permission(p).value for p in blocked})
    except ValueError as exc:
        raise InvalidInput(f"Unknown permission in blocked_permissions: {exc}") from exc
    policy = ctx.session.get(PartnerPolicy, tenant_id)
    if policy is None:
        policy = PartnerPolicy(tenant_id=tenant_id, blocked_permissions=values, updated_at=ctx.now)
        ctx.session.add(policy)
    policy.blocked_permissions, policy.updated_at = values, ctx.now
    policy.allow_privileged_roles = allow_privileged_roles
    if require_customer_approval_for_global_admin is not None:
        policy.require_customer_approval_for_global_admin = (
            require_customer_approval_for_global_admin
        )
    ga_approval = bool(policy.require_customer_approval_for_global_admin)
    audit.record(
        ctx,
        tenant_id,
        "partner.policy.update",
        f"tenant:{tenant_id}",
        details={
            "blocked_permissions": values,
            "allow_privileged_roles": allow_privileged_roles,
            "require_customer_approval_for_global_admin": ga_approval,
        },
    )
    return PolicyView(values, allow_privileged_roles, ga_approval)
