"""The gate: the decision for a principal in a tenant, and ``require`` at every service entry
point (404 when unreachable, 403 explained when not allowed; both audited).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from tenantry.access.grants import Decision
from tenantry.access.paths import PATHS
from tenantry.access.principals import held_back_for_clients
from tenantry.access.roles import Permission
from tenantry.audit import chain as audit
from tenantry.core.clock import utcnow
from tenantry.core.context import Context, Principal
from tenantry.core.errors import Forbidden, NotFound
from tenantry.models import Tenant
from tenantry.models.audit import AuditOutcome


def permissions(
    session: Session, principal: Principal, tenant_id: uuid.UUID, now: datetime | None = None
) -> Decision:
    """The decision for ``principal`` in ``tenant_id``; unreachable when no path leads there."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is not None:
        for resolve in PATHS:
            decision = resolve(session, principal, tenant, now or utcnow())
            if decision is not None:
                return held_back_for_clients(decision)
    return Decision(principal, tenant_id, None, None)


def explain(
    session: Session, principal: Principal, tenant_id: uuid.UUID, permission: Permission | None
) -> str:
    return permissions(session, principal, tenant_id).explain(permission)


def decide(ctx: Context, tenant_id: uuid.UUID) -> Decision:
    """The decision for the request's principal, computed once per request and tenant."""
    principal = ctx.require_principal()
    decision: Decision | None = ctx.decisions.get(tenant_id)
    if decision is None:
        decision = ctx.decisions[tenant_id] = permissions(
            ctx.session, principal, tenant_id, ctx.now
        )
    return decision


def require(ctx: Context, tenant_id: uuid.UUID, permission: Permission) -> Decision:
    """The gate at every service entry point: 404 when unreachable, 403 (explained) when not
    allowed; both are audited in a transaction of their own."""
    decision = decide(ctx, tenant_id)
    if not decision.reachable:
        _audit_denial(ctx, decision, permission, "no path to tenant")
        raise NotFound("Organisation not found.")
    if not decision.allows(permission):
        reason = decision.explain(permission)
        _audit_denial(ctx, decision, permission, reason)
        raise Forbidden(reason)
    if decision.delegated:
        # What this request does here is on behalf of the partner, through this relationship.
        ctx.on_behalf[tenant_id] = (
            decision.partner_tenant_id,
            decision.relationship_for(permission),
        )
    return decision


def deny(ctx: Context, decision: Decision, permission: Permission, reason: str) -> Forbidden:
    """A refusal decided by a rule beyond role membership, audited like any other."""
    _audit_denial(ctx, decision, permission, reason)
    return Forbidden(reason)


def _audit_denial(ctx: Context, decision: Decision, permission: Permission, reason: str) -> None:
    principal = ctx.require_principal()
    exists = decision.reachable or ctx.session.get(Tenant, decision.tenant_id) is not None
    # Recorded in the tenant that was probed (its admins should know); if there is no such
    # tenant, in the caller's own.
    where = decision.tenant_id if exists else principal.tenant_id
    audit.record_after_rollback(
        ctx,
        where,
        "access.denied",
        target=f"tenant:{decision.tenant_id}",
        outcome=AuditOutcome.DENIED,
        details={"permission": permission.value, "reason": reason[:400]},
        partner_tenant_id=decision.partner_tenant_id,
        relationship_id=decision.relationship_for(permission),
    )
