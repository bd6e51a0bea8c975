"""Access assignments: which of the partner's security groups get which of the roles a
customer approved."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select

from tenantry.access.roles import Role
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import Conflict, InvalidInput, NotFound
from tenantry.core.scoped import get_scoped
from tenantry.models import AccessAssignment, Group, GroupKind
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


def add_assignment(
    ctx: Context, relationship_id: uuid.UUID, group_id: uuid.UUID, roles: list[str]
) -> AccessAssignment:
    relationship = partner_side.get_for_partner(ctx, relationship_id)
    group = get_scoped(ctx.session, Group, group_id, relationship.partner_tenant_id, "Group")
    if group.kind != GroupKind.SECURITY:
        raise InvalidInput("Access goes through security groups only.")
    chosen = [r.value for r in sorted({Role(r) for r in roles}, key=list(Role).index)]
    if not chosen:
        raise InvalidInput("Give at least one role.")
    extra = set(chosen) - set(relationship.roles)
    if extra:
        raise InvalidInput(
            f"The customer did not approve: {', '.join(sorted(extra))}.",
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
        relationship_id=relationship.id, group_id=group.id, roles=chosen, created_at=ctx.now
    )
    ctx.session.add(assignment)
    ctx.session.flush()
    audit.record(
        ctx,
        relationship.partner_tenant_id,
        "partner.access_assignment.create",
        f"relationship:{relationship.id}",
        details={"group": group.name, "roles": chosen},
    )
    return assignment


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
