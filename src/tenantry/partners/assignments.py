"""Access assignments: which of the partner's security groups get which of the roles a
customer approved."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select

from tenantry import access
from tenantry.access.roles import Permission, Role
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import Conflict, InvalidInput, NotFound
from tenantry.core.scoped import get_scoped
from tenantry.models import AccessAssignment, Group, GroupKind
from tenantry.models.partners import (
    DEFAULT_ACTIVATION_MINUTES,
    MAX_ACTIVATION_MINUTES,
    MIN_ACTIVATION_MINUTES,
)
from tenantry.partners import enrolment as partners
from tenantry.partners import partner_side


def list_assignments(ctx: Context, relationship_id: uuid.UUID) -> list[AccessAssignment]:
    relationship = partner_side.get_for_partner(ctx, relationship_id)
    return list(
        ctx.session.scalars(
            select(AccessAssignment)
            .where(AccessAssignment.relationship_id == relationship.id)
            .order_by(AccessAssignment.created_at, AccessAssignment.id)
        )
    )


def assignable_groups(ctx: Context) -> list[Group]:
    """The partner's security groups, the only ones access can be assigned to."""
    partner = partners.require_partner(ctx)
    return list(
        ctx.session.scalars(
            select(Group)
            .where(Group.tenant_id == partner.id, Group.kind == GroupKind.SECURITY)
            .order_by(Group.name)
        )
    )


def _roles(roles: list[str]) -> list[str]:
    """Roles once each, in the catalogue's order."""
    return [r.value for r in sorted({Role(r) for r in roles}, key=list(Role).index)]


def security_group(
    ctx: Context, partner_id: uuid.UUID, group_id: uuid.UUID, label: str = "Group"
) -> Group:
    """A security group of the partner itself: access goes through nothing else (another
    tenant's group is not found)."""
    group = get_scoped(ctx.session, Group, group_id, partner_id, label)
    if group.kind != GroupKind.SECURITY:
        raise InvalidInput(f"Access goes through security groups only ('{group.name}' is not).")
    return group


def require_may_hand_out(ctx: Context, partner_id: uuid.UUID, what: str) -> None:
    """Handing out power over customers needs a sign-in that could use it itself."""
    access.require_sign_in_that_may_act_on_behalf(
        ctx, access.decide(ctx, partner_id), Permission.PARTNER_MANAGE, what
    )


@dataclass(frozen=True)
class Terms:
    """An assignment's terms, checked: roles once each, at least one in all, none both
    standing and eligible, activation bounds, an approver group when approval is required.
    Whether the customer approved them is checked against each relationship apart."""

    roles: list[str]
    eligible_roles: list[str]
    max_activation_minutes: int
    approval_required: bool
    approvers: Group | None

    @property
    def approver_group_id(self) -> uuid.UUID | None:
        return self.approvers.id if self.approvers else None


def check_terms(
    ctx: Context,
    partner_id: uuid.UUID,
    roles: list[str],
    eligible_roles: list[str] | None,
    max_activation_minutes: int,
    approval_required: bool,
    approver_group_id: uuid.UUID | None,
) -> Terms:
    """The rules of one assignment's terms, for ``add_assignment`` and access templates."""
    chosen, eligible = _roles(roles), _roles(eligible_roles or [])
    if not chosen and not eligible:
        raise InvalidInput("Give at least one role, standing or eligible.")
    both = set(chosen) & set(eligible)
    if both:
        raise InvalidInput(
            f"A role is standing or eligible, not both: {', '.join(sorted(both))}.",
            slug="role-standing-and-eligible",
        )
    if not MIN_ACTIVATION_MINUTES <= max_activation_minutes <= MAX_ACTIVATION_MINUTES:
        raise InvalidInput(
            f"max_activation_minutes is from {MIN_ACTIVATION_MINUTES} to "
            f"{MAX_ACTIVATION_MINUTES} (8 hours)."
        )
    approvers = _approver_group(ctx, partner_id, approver_group_id)
    if approval_required and approvers is None:
        raise InvalidInput(
            "Name the approver group (approver_group_id) when approval is required.",
            slug="approver-group-required",
        )
    return Terms(chosen, eligible, max_activation_minutes, approval_required, approvers)


def not_approved(terms_roles: list[str], relationship_roles: list[str]) -> list[str]:
    """The roles the customer did not approve in this relationship, sorted."""
    return sorted(set(terms_roles) - set(relationship_roles))


def assignment_details(group_name: str, terms: Terms) -> dict[str, object]:
    """What the audit log says of an assignment's terms."""
    details: dict[str, object] = {"group": group_name, "roles": terms.roles}
    if terms.eligible_roles:
        details |= {
            "eligible_roles": terms.eligible_roles,
            "max_activation_minutes": terms.max_activation_minutes,
            "approval_required": terms.approval_required,
            "approver_group": terms.approvers.name if terms.approvers else None,
        }
    return details


def add_assignment(
    ctx: Context,
    relationship_id: uuid.UUID,
    group_id: uuid.UUID,
    roles: list[str],
    *,
    eligible_roles: list[str] | None = None,
    max_activation_minutes: int = DEFAULT_ACTIVATION_MINUTES,
    approval_required: bool = False,
    approver_group_id: uuid.UUID | None = None,
) -> AccessAssignment:
    """Give a partner security group roles of the relationship: ``roles`` standing, and
    ``eligible_roles`` to activate just in time (for at most ``max_activation_minutes``, with
    the approval of a member of ``approver_group_id`` when ``approval_required``)."""
    relationship = partner_side.get_for_partner(ctx, relationship_id)
    partner_id = relationship.partner_tenant_id
    group = security_group(ctx, partner_id, group_id)
    require_may_hand_out(ctx, partner_id, f"giving '{group.name}' roles in a customer")
    terms = check_terms(
        ctx,
        partner_id,
        roles,
        eligible_roles,
        max_activation_minutes,
        approval_required,
        approver_group_id,
    )
    extra = not_approved(terms.roles + terms.eligible_roles, relationship.roles)
    if extra:
        raise InvalidInput(
            f"The customer did not approve: {', '.join(extra)}.",
            slug="role-not-in-relationship",
        )
    if ctx.session.scalar(
        select(AccessAssignment.id).where(
            AccessAssignment.relationship_id == relationship.id,
            AccessAssignment.group_id == group.id,
        )
    ):
        raise Conflict(
            f"'{group.name}' already has an assignment here; remove it first.", slug="duplicate"
        )
    assignment = AccessAssignment(
        relationship_id=relationship.id,
        group_id=group.id,
        roles=terms.roles,
        eligible_roles=terms.eligible_roles,
        max_activation_minutes=terms.max_activation_minutes,
        approval_required=terms.approval_required,
        approver_group_id=terms.approver_group_id,
        created_at=ctx.now,
    )
    ctx.session.add(assignment)
    ctx.session.flush()
    audit.record(
        ctx,
        partner_id,
        "partner.access_assignment.create",
        f"relationship:{relationship.id}",
        details=assignment_details(group.name, terms),
    )
    return assignment


def _approver_group(
    ctx: Context, partner_id: uuid.UUID, group_id: uuid.UUID | None
) -> Group | None:
    """The approver group: a security group of the partner itself (another tenant's group is
    not found). Its members decide who gets power, so it becomes a privileged group."""
    if group_id is None:
        return None
    group = get_scoped(ctx.session, Group, group_id, partner_id, "Approver group")
    if group.kind != GroupKind.SECURITY:
        raise InvalidInput("Approvers are a security group.")
    return group


def remove_assignment(ctx: Context, relationship_id: uuid.UUID, assignment_id: uuid.UUID) -> None:
    relationship = partner_side.get_for_partner(ctx, relationship_id)
    removed = ctx.session.execute(
        delete(AccessAssignment).where(
            AccessAssignment.id == assignment_id,
            AccessAssignment.relationship_id == relationship.id,
        )
    ).rowcount  # type: ignore[attr-defined]
    if not removed:
        raise NotFound("Access assignment not found.")
    audit.record(
        ctx,
        relationship.partner_tenant_id,
        "partner.access_assignment.delete",
        f"relationship:{relationship.id}",
        details={"assignment": str(assignment_id)},
    )
