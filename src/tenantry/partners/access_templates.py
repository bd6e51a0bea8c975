"""Access templates (issue 14, like Microsoft 365 Lighthouse's GDAP templates without the
one-per-customer limit): which of the partner's security groups get which standing and
eligible roles, applied to a selection of customers at once.

Who may do what: only the partner's administrators (``partner.manage``) create, edit, delete,
preview, apply or unapply templates; an agent is refused (403), another partner's template
is unknown (404). Applying hands out power over customers, so it also needs a sign-in that
could act on behalf itself, exactly as ``assignments.add_assignment`` does; the terms of each
entry pass the same checks (``assignments.check_terms``), and each relationship gets only
the roles its customer approved.

``plan`` says what applying would change, per relationship and entry; ``apply`` runs the
very same ``plan`` under the template's row lock and carries out exactly that in one
transaction, with set-based INSERT/UPDATE/DELETE and bulk audit events, so the preview is
what applying does and a second apply changes nothing.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import Conflict, InvalidInput
from tenantry.core.scoped import get_scoped
from tenantry.models import (
    AccessAssignment,
    AccessTemplate,
    AccessTemplateEntry,
    Group,
    Relationship,
    Tenant,
)
from tenantry.models.partners import (
    DEFAULT_ACTIVATION_MINUTES,
    LIVE_STATUSES,
    RelationshipStatus,
)
from tenantry.partners import assignments
from tenantry.partners import enrolment as partners
from tenantry.partners.selection import CustomerSelection, selected_customers

MAX_ENTRIES = 50
_CHUNK = 1000


class PlanAction(StrEnum):
    """What applying a template does to one relationship and group."""

    CREATE = "create"
    UPDATE = "update"
    REMOVE = "remove"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class EntryTerms:
    """One entry as given (API body or web form), before its checks."""

    group_id: uuid.UUID
    roles: list[str] = field(default_factory=list)
    eligible_roles: list[str] = field(default_factory=list)
    max_activation_minutes: int = DEFAULT_ACTIVATION_MINUTES
    approval_required: bool = False
    approver_group_id: uuid.UUID | None = None


@dataclass(frozen=True)
class PlanItem:
    """One change (or none, and why) for one customer, relationship and group. ``roles``
    and ``eligible_roles`` are what the assignment holds after applying (before, for a
    removal); ``assignment_id`` is the existing assignment (None for a creation)."""

    action: PlanAction
    customer_tenant_id: uuid.UUID
    customer_name: str
    relationship_id: uuid.UUID | None = None
    group_id: uuid.UUID | None = None
    group_name: str = ""
    roles: tuple[str, ...] = ()
    eligible_roles: tuple[str, ...] = ()
    assignment_id: uuid.UUID | None = None
    reason: str = ""


@dataclass(frozen=True)
class Plan:
    template_id: uuid.UUID
    template_name: str
    unapply: bool
    items: list[PlanItem]

    @property
    def counts(self) -> dict[PlanAction, int]:
        found = Counter(item.action for item in self.items)
        return {action: found.get(action, 0) for action in PlanAction}

    @property
    def changes(self) -> list[PlanItem]:
        return [
            i
            for i in self.items
            if i.action in (PlanAction.CREATE, PlanAction.UPDATE, PlanAction.REMOVE)
        ]


# --- the templates themselves ---------------------------------------------------------------


def get_template(ctx: Context, template_id: uuid.UUID, *, lock: bool = False) -> AccessTemplate:
    """One of the partner's templates (partner administrators only); another partner's is
    404."""
    partner = partners.require_partner(ctx)
    return get_scoped(
        ctx.session,
        AccessTemplate,
        template_id,
        partner.id,
        "Access template",
        owner="partner_tenant_id",
        lock=lock,
    )


def list_templates(ctx: Context) -> list[AccessTemplate]:
    partner = partners.require_partner(ctx)
    return list(
        ctx.session.scalars(
            select(AccessTemplate)
            .where(AccessTemplate.partner_tenant_id == partner.id)
            .order_by(AccessTemplate.name, AccessTemplate.id)
        )
    )


def entries_of(
    ctx: Context, template_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[AccessTemplateEntry, str]]]:
    """Each template's entries with their group's name, in the groups' order."""
    ids = list(template_ids)
    out: dict[uuid.UUID, list[tuple[AccessTemplateEntry, str]]] = {tid: [] for tid in ids}
    if not ids:
        return out
    rows = ctx.session.execute(
        select(AccessTemplateEntry, Group.name)
        .join(Group, Group.id == AccessTemplateEntry.group_id)
        .where(AccessTemplateEntry.template_id.in_(ids))
        .order_by(Group.name, AccessTemplateEntry.id)
    ).all()
    for entry, name in rows:
        out[entry.template_id].append((entry, name))
    return out


def _checked_entries(
    ctx: Context, partner_id: uuid.UUID, entries: Sequence[EntryTerms]
) -> list[tuple[Group, assignments.Terms]]:
    """Every entry through the checks of ``add_assignment``: a security group of the partner,
    the terms' rules, an approver group of the partner; each group once."""
    if not entries:
        raise InvalidInput("Give at least one group and its roles.")
    if len(entries) > MAX_ENTRIES:
        raise InvalidInput(f"A template has at most {MAX_ENTRIES} groups.")
    checked: list[tuple[Group, assignments.Terms]] = []
    seen: set[uuid.UUID] = set()
    for entry in entries:
        group = assignments.security_group(ctx, partner_id, entry.group_id)
        if group.id in seen:
            raise InvalidInput(f"'{group.name}' is in the template twice.", slug="duplicate-group")
        seen.add(group.id)
        terms = assignments.check_terms(
            ctx,
            partner_id,
            entry.roles,
            entry.eligible_roles,
            entry.max_activation_minutes,
            entry.approval_required,
            entry.approver_group_id,
        )
        checked.append((group, terms))
    return checked


def _write_entries(
    ctx: Context, template: AccessTemplate, checked: list[tuple[Group, assignments.Terms]]
) -> None:
    ctx.session.execute(
        delete(AccessTemplateEntry).where(AccessTemplateEntry.template_id == template.id)
    )
    for group, terms in checked:
        ctx.session.add(
            AccessTemplateEntry(
                template_id=template.id,
                group_id=group.id,
                roles=terms.roles,
                eligible_roles=terms.eligible_roles,
                max_activation_minutes=terms.max_activation_minutes,
                approval_required=terms.approval_required,
                approver_group_id=terms.approver_group_id,
            )
        )


def _name_taken(ctx: Context, partner_id: uuid.UUID, name: str, but: uuid.UUID | None) -> None:
    stmt = select(AccessTemplate.id).where(
        AccessTemplate.partner_tenant_id == partner_id, AccessTemplate.name == name
    )
    if but is not None:
        stmt = stmt.where(AccessTemplate.id != but)
    if ctx.session.scalar(stmt) is not None:
        raise Conflict(f"A template named '{name}' exists already.", slug="duplicate")


def _flush_unique(ctx: Context, name: str) -> None:
    """Flush; a concurrent template of the same name (the unique constraint) is a 409."""
    try:
        with ctx.session.begin_nested():
            ctx.session.flush()
    except IntegrityError as exc:
        raise Conflict(f"A template named '{name}' exists already.", slug="duplicate") from exc


def _audit_details(template: AccessTemplate, checked: list[tuple[Group, Any]]) -> dict[str, Any]:
    return {
        "name": template.name,
        "entries": [assignments.assignment_details(g.name, t) for g, t in checked],
    }


def create_template(
    ctx: Context, name: str, description: str, entries: Sequence[EntryTerms]
) -> AccessTemplate:
    partner = partners.require_partner(ctx)
    checked = _checked_entries(ctx, partner.id, entries)
    _name_taken(ctx, partner.id, name, None)
    template = AccessTemplate(
        partner_tenant_id=partner.id,
        name=name,
        description=description,
        created_by_user_id=ctx.require_principal().user_id,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(template)
    _flush_unique(ctx, name)
    _write_entries(ctx, template, checked)
    ctx.session.flush()
    audit.record(
        ctx,
        partner.id,
        "partner.access_template.create",
        f"access_template:{template.id}",
        details=_audit_details(template, checked),
    )
    return template


def update_template(
    ctx: Context,
    template_id: uuid.UUID,
    *,
    name: str | None = None,
    description: str | None = None,
    entries: Sequence[EntryTerms] | None = None,
) -> AccessTemplate:
    """Rename, describe or replace the entries. Customers change only when it is applied
    again (preview first)."""
    template = get_template(ctx, template_id, lock=True)
    partner_id = template.partner_tenant_id
    checked = None if entries is None else _checked_entries(ctx, partner_id, entries)
    if name is not None and name != template.name:
        _name_taken(ctx, partner_id, name, template.id)
        template.name = name
    if description is not None:
        template.description = description
    if checked is not None:
        _write_entries(ctx, template, checked)
    template.updated_at = ctx.now
    _flush_unique(ctx, template.name)
    details: dict[str, Any] = {"name": template.name}
    if checked is not None:
        details = _audit_details(template, checked)
    audit.record(
        ctx,
        partner_id,
        "partner.access_template.update",
        f"access_template:{template.id}",
        details=details,
    )
    return template


def delete_template(ctx: Context, template_id: uuid.UUID) -> None:
    """Delete the template; what it made stays, as assignments made one at a time (unapply
    first to remove them)."""
    template = get_template(ctx, template_id, lock=True)
    ctx.session.execute(
        update(AccessAssignment)
        .where(AccessAssignment.template_id == template.id)
        .values(template_id=None)
        .execution_options(synchronize_session=False)
    )
    audit.record(
        ctx,
        template.partner_tenant_id,
        "partner.access_template.delete",
        f"access_template:{template.id}",
        details={"name": template.name},
    )
    ctx.session.delete(template)
    ctx.session.flush()


# --- plan and apply -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    group_id: uuid.UUID
    group_name: str
    roles: list[str]
    eligible_roles: list[str]
    max_activation_minutes: int
    approval_required: bool
    approver_group_id: uuid.UUID | None


def _entries(ctx: Context, template: AccessTemplate) -> list[_Entry]:
    """The template's entries, checked again at plan time: a group that stopped being a
    security group of the partner, or an approval with its approver group deleted, stops
    the plan (edit the template) rather than granting anything unchecked."""
    found = []
    for entry, group_name in entries_of(ctx, [template.id])[template.id]:
        assignments.security_group(ctx, template.partner_tenant_id, entry.group_id)
        terms = assignments.check_terms(
            ctx,
            template.partner_tenant_id,
            entry.roles,
            entry.eligible_roles,
            entry.max_activation_minutes,
            entry.approval_required,
            entry.approver_group_id,
        )
        found.append(
            _Entry(
                entry.group_id,
                group_name,
                terms.roles,
                terms.eligible_roles,
                terms.max_activation_minutes,
                terms.approval_required,
                terms.approver_group_id,
            )
        )
    return found


_ASSIGNMENT_COLUMNS = (
    AccessAssignment.id,
    AccessAssignment.relationship_id,
    AccessAssignment.group_id,
    AccessAssignment.template_id,
    AccessAssignment.roles,
    AccessAssignment.eligible_roles,
    AccessAssignment.max_activation_minutes,
    AccessAssignment.approval_required,
    AccessAssignment.approver_group_id,
)


@dataclass(frozen=True)
class _Assignment:
    """An existing assignment as the plan reads it (columns, not ORM objects: thousands)."""

    id: uuid.UUID
    relationship_id: uuid.UUID
    group_id: uuid.UUID
    template_id: uuid.UUID | None
    roles: list[str]
    eligible_roles: list[str]
    max_activation_minutes: int
    approval_required: bool
    approver_group_id: uuid.UUID | None


def _live(ctx: Context, status: RelationshipStatus, ends_at: Any) -> bool:
    return status in LIVE_STATUSES and (ends_at is None or ends_at > ctx.now)


def _why_not_live(status: RelationshipStatus, ends_at: Any) -> str:
    if status == RelationshipStatus.APPROVAL_PENDING:
        return "the customer has not approved the relationship yet"
    if status == RelationshipStatus.TERMINATED:
        return "the relationship was ended"
    return "the relationship has expired"


def plan(ctx: Context, template_id: uuid.UUID, selection: CustomerSelection | None) -> Plan:
    """What applying the template to the selected customers would change (a preview)."""
    return _plan(ctx, get_template(ctx, template_id), selection, unapply=False)


def plan_unapply(ctx: Context, template_id: uuid.UUID, selection: CustomerSelection | None) -> Plan:
    """What unapplying would remove: the template's own assignments in those customers."""
    return _plan(ctx, get_template(ctx, template_id), selection, unapply=True)


def _plan(
    ctx: Context, template: AccessTemplate, selection: CustomerSelection | None, *, unapply: bool
) -> Plan:
    partner_id = template.partner_tenant_id
    entries = [] if unapply else _entries(ctx, template)
    customers = selected_customers(ctx, partner_id, selection).scalar_subquery()
    relationships = ctx.session.execute(
        select(
            Relationship.id,
            Relationship.customer_tenant_id,
            Tenant.name,
            Relationship.status,
            Relationship.ends_at,
            Relationship.roles,
        )
        .join(Tenant, Tenant.id == Relationship.customer_tenant_id)
        .where(
            Relationship.partner_tenant_id == partner_id,
            Relationship.customer_tenant_id.in_(customers),
        )
        .order_by(Tenant.name, Relationship.customer_tenant_id, Relationship.created_at)
    ).all()
    by_group = {e.group_id: e for e in entries}
    mine = AccessAssignment.template_id == template.id
    # By the relationships' ids just read, a chunk at a time (each an index lookup): an
    # IN (subquery) here let PostgreSQL's planner, with statistics from before the last
    # apply, re-run the subquery per row (7 s at 10,000 customers).
    existing_rows: list[Any] = []
    for chunk in _chunks([r[0] for r in relationships]):
        existing_rows += ctx.session.execute(
            select(*_ASSIGNMENT_COLUMNS, Group.name)
            .join(Group, Group.id == AccessAssignment.group_id)
            .where(
                AccessAssignment.relationship_id.in_(chunk),
                or_(mine, AccessAssignment.group_id.in_(list(by_group))) if by_group else mine,
            )
        ).all()
    existing: dict[tuple[uuid.UUID, uuid.UUID], tuple[_Assignment, str]] = {}
    made_here: dict[uuid.UUID, list[tuple[_Assignment, str]]] = {}
    for *values, name in existing_rows:
        a = _Assignment(*values)
        existing[(a.relationship_id, a.group_id)] = (a, name)
        if a.template_id == template.id:
            made_here.setdefault(a.relationship_id, []).append((a, name))
    items: list[PlanItem] = []
    seen_live: dict[uuid.UUID, bool] = {}
    last_reason: dict[uuid.UUID, tuple[str, str]] = {}
    for rid, cid, cname, status, ends_at, rel_roles in relationships:
        live = _live(ctx, status, ends_at)
        seen_live[cid] = seen_live.get(cid, False) or live
        if unapply:
            for a, gname in made_here.get(rid, []):
                items.append(_item(PlanAction.REMOVE, cid, cname, a, gname))
            continue
        if not live:
            last_reason[cid] = (cname, _why_not_live(status, ends_at))
            continue
        for entry in entries:
            items.append(_entry_item(template, entry, cid, cname, rid, rel_roles, existing))
        for a, gname in made_here.get(rid, []):
            if a.group_id not in by_group:
                items.append(
                    _item(PlanAction.REMOVE, cid, cname, a, gname, "no longer in the template")
                )
    if not unapply:
        for cid, (cname, why) in last_reason.items():
            if not seen_live[cid]:
                items.append(PlanItem(PlanAction.SKIPPED, cid, cname, reason=why))
    return Plan(template.id, template.name, unapply, items)


def _item(
    action: PlanAction,
    cid: uuid.UUID,
    cname: str,
    a: _Assignment,
    gname: str,
    reason: str = "",
) -> PlanItem:
    return PlanItem(
        action,
        cid,
        cname,
        a.relationship_id,
        a.group_id,
        gname,
        tuple(a.roles),
        tuple(a.eligible_roles),
        a.id,
        reason,
    )


def _entry_item(
    template: AccessTemplate,
    entry: _Entry,
    cid: uuid.UUID,
    cname: str,
    rid: uuid.UUID,
    rel_roles: list[str],
    existing: dict[tuple[uuid.UUID, uuid.UUID], tuple[_Assignment, str]],
) -> PlanItem:
    """The change for one entry in one live relationship: only the roles its customer
    approved (the others left out, and said)."""
    approved = set(rel_roles)
    roles = tuple(r for r in entry.roles if r in approved)
    eligible = tuple(r for r in entry.eligible_roles if r in approved)
    left_out = assignments.not_approved(entry.roles + entry.eligible_roles, rel_roles)
    note = f"not approved by the customer, left out: {', '.join(left_out)}" if left_out else ""
    found = existing.get((rid, entry.group_id))
    base = PlanItem(PlanAction.CREATE, cid, cname, rid, entry.group_id, entry.group_name)
    if found is not None and found[0].template_id != template.id:
        return _item(
            PlanAction.SKIPPED,
            cid,
            cname,
            found[0],
            entry.group_name,
            "the group already has an assignment here, not made by this template (left as is)",
        )
    if not roles and not eligible:
        if found is not None:
            return _item(
                PlanAction.REMOVE, cid, cname, found[0], entry.group_name, note or "no roles"
            )
        return PlanItem(
            PlanAction.SKIPPED,
            cid,
            cname,
            rid,
            entry.group_id,
            entry.group_name,
            reason=f"the customer approved none of: {', '.join(left_out)}",
        )
    if found is None:
        return replace(base, roles=roles, eligible_roles=eligible, reason=note)
    a = found[0]
    same = (
        list(a.roles) == list(roles)
        and list(a.eligible_roles) == list(eligible)
        and a.max_activation_minutes == entry.max_activation_minutes
        and a.approval_required == entry.approval_required
        and a.approver_group_id == entry.approver_group_id
    )
    action = PlanAction.UNCHANGED if same else PlanAction.UPDATE
    return replace(
        base, action=action, roles=roles, eligible_roles=eligible, assignment_id=a.id, reason=note
    )


def apply(ctx: Context, template_id: uuid.UUID, selection: CustomerSelection | None) -> Plan:
    """Apply the template: the plan, made afresh under the template's lock, carried out."""
    template = get_template(ctx, template_id)
    assignments.require_may_hand_out(
        ctx, template.partner_tenant_id, f"applying the access template '{template.name}'"
    )
    return _execute(ctx, _locked(ctx, template), selection, unapply=False)


def unapply(ctx: Context, template_id: uuid.UUID, selection: CustomerSelection | None) -> Plan:
    """Remove the template's own assignments from the selected customers (nothing else)."""
    template = get_template(ctx, template_id)
    return _execute(ctx, _locked(ctx, template), selection, unapply=True)


def _locked(ctx: Context, template: AccessTemplate) -> AccessTemplate:
    """Serialise applies of one template: a write on its row first (the row lock on
    PostgreSQL; SQLite's write lock is taken when the transaction begins), so a parallel
    apply plans only after this one committed and finds everything unchanged."""
    ctx.session.execute(
        update(AccessTemplate)
        .where(AccessTemplate.id == template.id)
        .values(applied_at=ctx.now)
        .execution_options(synchronize_session=False)
    )
    ctx.session.refresh(template)
    return template


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _execute(
    ctx: Context, template: AccessTemplate, selection: CustomerSelection | None, *, unapply: bool
) -> Plan:
    the_plan = _plan(ctx, template, selection, unapply=unapply)
    entries = {} if unapply else {e.group_id: e for e in _entries(ctx, template)}
    creates, updates, removes = [], [], []
    for item in the_plan.changes:
        entry = entries.get(item.group_id) if item.group_id else None
        terms: dict[str, Any] = {}
        if entry is not None:
            terms = {
                "roles": list(item.roles),
                "eligible_roles": list(item.eligible_roles),
                "max_activation_minutes": entry.max_activation_minutes,
                "approval_required": entry.approval_required,
                "approver_group_id": entry.approver_group_id,
            }
        if item.action == PlanAction.CREATE:
            creates.append(
                {
                    "id": uuid.uuid4(),
                    "relationship_id": item.relationship_id,
                    "group_id": item.group_id,
                    "created_at": ctx.now,
                    "template_id": template.id,
                    **terms,
                }
            )
        elif item.action == PlanAction.UPDATE:
            updates.append({"id": item.assignment_id, **terms})
        else:
            removes.append(item.assignment_id)
    # Core statements executed many (the ORM's bulk paths may fall back to a row at a time).
    table = cast(Table, AccessAssignment.__table__)
    try:
        with ctx.session.begin_nested():
            for chunk in _chunks(creates):
                ctx.session.execute(insert(table), chunk)
    except IntegrityError as exc:  # an assignment made one at a time meanwhile
        raise Conflict(
            "An assignment was made meanwhile in one of these customers; preview again.",
            slug="changed-meanwhile",
        ) from exc
    if updates:
        ctx.session.execute(
            update(table)
            .where(table.c.id == bindparam("assignment"), table.c.template_id == template.id)
            .values({name: bindparam(f"new_{name}") for name in _TERMS}),
            [
                {"assignment": u["id"], **{f"new_{name}": u[name] for name in _TERMS}}
                for u in updates
            ],
        )
    for chunk in _chunks(removes):
        ctx.session.execute(
            delete(AccessAssignment)
            .where(AccessAssignment.id.in_(chunk), AccessAssignment.template_id == template.id)
            .execution_options(synchronize_session=False)
        )
    _audit(ctx, template, the_plan)
    return the_plan


_TERMS = (
    "roles",
    "eligible_roles",
    "max_activation_minutes",
    "approval_required",
    "approver_group_id",
)

_VERBS = {
    PlanAction.CREATE: "create",
    PlanAction.UPDATE: "update",
    PlanAction.REMOVE: "delete",
}


def _audit(ctx: Context, template: AccessTemplate, the_plan: Plan) -> None:
    """Each change in the customer's log and in the partner's, in bulk."""
    partner_id = template.partner_tenant_id
    pending = []
    for item in the_plan.changes:
        details: dict[str, Any] = {
            "group": item.group_name,
            "roles": list(item.roles),
            "eligible_roles": list(item.eligible_roles),
            "template": template.name,
            "template_id": str(template.id),
        }
        if item.reason:
            details["note"] = item.reason
        action = f"partner.access_assignment.{_VERBS[item.action]}"
        target = f"relationship:{item.relationship_id}"
        for tenant_id in (item.customer_tenant_id, partner_id):
            pending.append(
                audit.Pending(
                    tenant_id,
                    action,
                    target,
                    {**details, "customer": item.customer_name}
                    if tenant_id == partner_id
                    else details,
                    # In the customer's log it is the partner's action; in the partner's, its own.
                    partner_tenant_id=partner_id if tenant_id != partner_id else None,
                    relationship_id=item.relationship_id,
                )
            )
    audit.record_many(ctx, pending)
