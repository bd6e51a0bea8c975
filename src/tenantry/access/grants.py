"""What the access decision answers with: the grants found and the decision built from them.

Pure types (no database): a ``Decision`` carries every grant, so a refusal can explain
itself in words.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from tenantry.access.roles import DELEGATION_EXCLUSIONS, ROLE_NAMES, Permission, Role
from tenantry.core.context import Principal


class DecisionPath(StrEnum):
    """A member acts in its home tenant; a partner agent's roles are delegated, so they are
    cut by the relationship's roles and the delegation exclusions, and audited as such."""

    MEMBER = "member"
    DELEGATED = "delegated"


@dataclass(frozen=True)
class Grant:
    """One role that reaches the principal in the tenant, and how."""

    role: Role
    path: DecisionPath
    via: str  # human words: "assigned directly", "through group 'Helpdesk'"
    permissions: frozenset[Permission]
    relationship_id: uuid.UUID | None = None
    # A just-in-time activation's role: which activation, and until when it counts.
    activation_id: uuid.UUID | None = None
    until: datetime | None = None
    # A grant that is no built-in role (a provisioning token's): its name in words. ``role``
    # then names the closest role only for typing; ``Decision.roles`` leaves it out.
    label: str | None = None

    def describe(self) -> str:
        return f"{self.label or ROLE_NAMES[self.role]} ({self.via})"


@dataclass(frozen=True)
class Decision:
    """What ``principal`` may do in one tenant: the path that reaches it and every grant."""

    principal: Principal
    tenant_id: uuid.UUID
    tenant_name: str | None
    path: DecisionPath | None  # None: the tenant does not exist for this principal
    grants: tuple[Grant, ...] = ()
    notes: tuple[str, ...] = field(default=())
    partner_tenant_id: uuid.UUID | None = None
    relationship_id: uuid.UUID | None = None
    # Set when every grant is held back (a partner agent without MFA): the reason, in words.
    blocked: str | None = None
    policy_blocked: frozenset[Permission] = frozenset()
    # Roles the agent could activate just in time here (not yet active): not power, but a
    # refusal names them so the agent knows how to get the permission, and how not.
    eligible: tuple[Grant, ...] = ()

    @property
    def reachable(self) -> bool:
        return self.path is not None

    @property
    def delegated(self) -> bool:
        return self.path == DecisionPath.DELEGATED

    def relationship_for(self, permission: Permission) -> uuid.UUID | None:
        for grant in self.grants:
            if permission in grant.permissions:
                return grant.relationship_id
        return self.relationship_id

    @property
    def permissions(self) -> frozenset[Permission]:
        out: set[Permission] = set()
        for grant in self.grants:
            out |= grant.permissions
        return frozenset(out)

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(g.role for g in self.grants if g.label is None)

    def allows(self, permission: Permission) -> bool:
        return self.blocked is None and permission in self.permissions

    def explain(self, permission: Permission | None = None) -> str:
        who = self.principal.name
        if not self.reachable:
            return f"{who} has no access to this organisation."
        where = self.tenant_name or str(self.tenant_id)
        held = "; ".join(g.describe() for g in self.grants) or "no admin role"
        if permission is None:
            return f"{who} in {where} holds: {held}."
        if self.blocked:
            return f"Denied: {self.blocked}"
        if self.delegated and permission in DELEGATION_EXCLUSIONS:
            return (
                f"Denied: {permission.value} is never available through delegated "
                "administration (partners can't manage a customer's partners or its own "
                f"partner programme, purchase subscriptions or manage devices). {who} holds "
                f"{held}."
            )
        if self.delegated and permission in self.policy_blocked:
            return (
                f"Denied: {where}'s partner policy blocks {permission.value} for every "
                f"partner. {who} holds {held}."
            )
        granting = [g for g in self.grants if permission in g.permissions]
        if granting:
            return (
                f"Allowed: {who} may {permission.value} in {where} as "
                + "; ".join(g.describe() for g in granting)
                + "."
            )
        extra = (" " + " ".join(self.notes)) if self.notes else ""
        could = [g for g in self.eligible if permission in g.permissions]
        if could:
            extra += (
                " Eligible, not active: "
                + "; ".join(g.describe() for g in could)
                + ". Activate it for a while with POST /api/v1/partner/activations."
            )
        return (
            f"Denied: {permission.value} in {where} needs a role that grants it; "
            f"{who} holds {held}.{extra}"
        )
