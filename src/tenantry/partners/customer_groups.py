"""Customer groups and custom per-customer fields (issue 14; README "Customer groups"): a
partner's own, private objects. Another partner's group or an unknown id is a 404.

Who may do what:

* **Partner admins** (``partner.manage``) create, change and delete groups, preview a rule,
  and set a customer's custom fields; audited in the partner tenant.
* **Agents** (any member of the partner) list and read groups, filter the customer list by
  them, and read custom fields of customers they see; a group's members are shown as the
  caller's decision may read them (a dynamic rule over the customer's data is guarded by
  ``access.restrict_to``, partners/customer_group_rules.py), so an agent (or an admin) sees a
  customer in "holds SKU X" only where it may read that customer's subscriptions.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import Conflict, InvalidInput, NotFound
from tenantry.core.pagination import Page, paginate
from tenantry.models import (
    CustomerField,
    CustomerGroup,
    CustomerGroupKind,
    CustomerGroupMember,
    Relationship,
    Sku,
    Tenant,
)
from tenantry.models.customer_groups import MAX_FIELD_KEY, MAX_FIELD_VALUE
from tenantry.partners import enrolment as partners
from tenantry.partners import views
from tenantry.partners.customer_group_rules import (
    FIELD_KEY_PATTERN,
    SeatsCompared,
    SkusHeld,
    conditions,
    dump_rule,
    rule_condition,
)
from tenantry.partners.selection import GROUP_NOT_FOUND, CustomerSelection

MAX_MEMBERS = 10_000
MAX_FIELDS = 50
NAME_TAKEN = "The partner already has a customer group with this name."


@dataclass
class GroupChanges:
    """What a PATCH asks to change; a field left out (not in ``given``) stays as it is. A rule
    set to None makes the group static again."""

    given: set[str] = field(default_factory=set)
    name: str | None = None
    description: str | None = None
    tenant_ids: list[uuid.UUID] | None = None
    rule: Any = None


@dataclass(frozen=True)
class Preview:
    """What a rule selects for the caller now, without saving it."""

    count: int
    page: Page[views.CustomerSummary]


# --- checks --------------------------------------------------------------------------------


def _name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise InvalidInput("Name: give the group a name.")
    if len(cleaned) > 128:
        raise InvalidInput("Name: at most 128 characters.")
    return cleaned


def _own_customers(
    ctx: Context, partner_id: uuid.UUID, tenant_ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    """The chosen customers, each once; any that is not a customer of the partner (any
    relationship, whatever its status) is refused, the same answer whether it exists."""
    wanted = list(dict.fromkeys(tenant_ids))
    if len(wanted) > MAX_MEMBERS:
        raise InvalidInput(f"A group has at most {MAX_MEMBERS} chosen customers.")
    if not wanted:
        return []
    known = set(
        ctx.session.scalars(
            select(Relationship.customer_tenant_id).where(
                Relationship.partner_tenant_id == partner_id,
                Relationship.customer_tenant_id.in_(wanted),
            )
        )
    )
    strangers = [str(t) for t in wanted if t not in known]
    if strangers:
        raise InvalidInput(
            "Not customers of this partner: "
            + ", ".join(strangers[:3])
            + (f" and {len(strangers) - 3} more" if len(strangers) > 3 else "")
            + ".",
            slug="not-a-customer",
        )
    return wanted


def _known_skus(ctx: Context, rule: Any) -> None:
    """A rule naming a SKU the catalogue doesn't have is a mistake: say so (422)."""
    named: set[str] = set()
    for condition in conditions(rule):
        if isinstance(condition, SkusHeld):
            named.update(condition.skus)
        elif isinstance(condition, SeatsCompared) and condition.sku is not None:
            named.add(condition.sku)
    if not named:
        return
    known = set(ctx.session.scalars(select(Sku.id).where(Sku.id.in_(named))))
    unknown = sorted(named - known)
    if unknown:
        raise InvalidInput(f"Rule: unknown SKU {', '.join(unknown)}.", slug="unknown-sku")


def _one(ctx: Context, partner_id: uuid.UUID, group_id: uuid.UUID) -> CustomerGroup:
    group = ctx.session.get(CustomerGroup, group_id)
    if group is None or group.partner_tenant_id != partner_id:
        raise NotFound(GROUP_NOT_FOUND)
    return group


def _set_members(ctx: Context, group: CustomerGroup, tenant_ids: list[uuid.UUID]) -> None:
    ctx.session.execute(delete(CustomerGroupMember).where(CustomerGroupMember.group_id == group.id))
    ctx.session.add_all(
        CustomerGroupMember(group_id=group.id, customer_tenant_id=t) for t in tenant_ids
    )


def _saved(ctx: Context) -> None:
    """Flush in a savepoint: a concurrent create or rename to the same name lost the race."""
    try:
        with ctx.session.begin_nested():
            ctx.session.flush()
    except IntegrityError as exc:
        raise Conflict(NAME_TAKEN, slug="duplicate-name") from exc


def _name_free(ctx: Context, partner_id: uuid.UUID, name: str, but: uuid.UUID | None) -> None:
    taken = ctx.session.scalar(
        select(CustomerGroup.id).where(
            CustomerGroup.partner_tenant_id == partner_id, CustomerGroup.name == name
        )
    )
    if taken is not None and taken != but:
        raise Conflict(NAME_TAKEN, slug="duplicate-name")


# --- groups --------------------------------------------------------------------------------


def create_group(
    ctx: Context,
    *,
    name: str,
    description: str | None = None,
    tenant_ids: list[uuid.UUID] | None = None,
    rule: Any = None,
) -> CustomerGroup:
    """A partner admin makes a group: static (chosen customers) or, with a rule, dynamic (the
    rule, plus any chosen customers)."""
    partner = partners.require_partner(ctx)
    cleaned = _name(name)
    members = _own_customers(ctx, partner.id, tenant_ids or [])
    if rule is not None:
        _known_skus(ctx, rule)
    _name_free(ctx, partner.id, cleaned, None)
    user = ctx.principal.user_id if ctx.principal else None
    group = CustomerGroup(
        id=uuid.uuid4(),
        partner_tenant_id=partner.id,
        name=cleaned,
        description=description,
        kind=CustomerGroupKind.DYNAMIC if rule is not None else CustomerGroupKind.STATIC,
        rule=dump_rule(rule) if rule is not None else None,
        created_at=ctx.now,
        updated_at=ctx.now,
        created_by_user_id=user,
        updated_by_user_id=user,
    )
    ctx.session.add(group)
    _saved(ctx)
    _set_members(ctx, group, members)
    audit.record(
        ctx,
        partner.id,
        "customer_group.created",
        str(group.id),
        details={"name": cleaned, "kind": group.kind.value, "members": len(members)},
    )
    return group


def list_groups(ctx: Context, *, cursor: str | None, limit: int) -> Page[CustomerGroup]:
    """Any member of the partner (agents included) may list its groups."""
    partner = partners.require_partner(ctx, None)
    stmt = select(CustomerGroup).where(CustomerGroup.partner_tenant_id == partner.id)
    return paginate(ctx.session, stmt, [CustomerGroup.name, CustomerGroup.id], cursor, limit)


def group_choices(ctx: Context) -> list[tuple[uuid.UUID, str]]:
    """(id, name) of the partner's customer groups, for the pages' group selectors (the first
    200 by name)."""
    return [(group.id, group.name) for group in list_groups(ctx, cursor=None, limit=200).items]


def get_group(ctx: Context, group_id: uuid.UUID) -> CustomerGroup:
    partner = partners.require_partner(ctx, None)
    return _one(ctx, partner.id, group_id)


def chosen_members(ctx: Context, groups: list[CustomerGroup]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Each group's chosen customers that the caller sees in its customer list (an agent does
    not learn of customers it has no live link to); one query."""
    if not groups:
        return {}
    partner_id = groups[0].partner_tenant_id
    out: dict[uuid.UUID, list[uuid.UUID]] = {g.id: [] for g in groups}
    rows = ctx.session.execute(
        select(CustomerGroupMember.group_id, CustomerGroupMember.customer_tenant_id)
        .join(Tenant, Tenant.id == CustomerGroupMember.customer_tenant_id)
        .where(
            CustomerGroupMember.group_id.in_(list(out)),
            views.visible_condition(ctx, partner_id, Tenant.id),
        )
        .order_by(Tenant.name, Tenant.id)
    )
    for group_id, tenant_id in rows:
        out[group_id].append(tenant_id)
    return out


def update_group(ctx: Context, group_id: uuid.UUID, changes: GroupChanges) -> CustomerGroup:
    """A partner admin renames, redescribes, re-chooses members or changes the rule (None:
    static again)."""
    partner = partners.require_partner(ctx)
    group = _one(ctx, partner.id, group_id)
    changed: list[str] = []
    if "name" in changes.given and changes.name is not None:
        cleaned = _name(changes.name)
        if cleaned != group.name:
            _name_free(ctx, partner.id, cleaned, group.id)
            group.name = cleaned
            changed.append("name")
    if "description" in changes.given:
        group.description = changes.description
        changed.append("description")
    if "rule" in changes.given:
        if changes.rule is not None:
            _known_skus(ctx, changes.rule)
        group.rule = dump_rule(changes.rule) if changes.rule is not None else None
        group.kind = (
            CustomerGroupKind.DYNAMIC if changes.rule is not None else CustomerGroupKind.STATIC
        )
        changed.append("rule")
    if "tenant_ids" in changes.given and changes.tenant_ids is not None:
        _set_members(ctx, group, _own_customers(ctx, partner.id, changes.tenant_ids))
        changed.append("members")
    if changed:
        group.updated_at = ctx.now
        group.updated_by_user_id = ctx.principal.user_id if ctx.principal else None
        _saved(ctx)
        audit.record(
            ctx,
            partner.id,
            "customer_group.updated",
            str(group.id),
            details={"name": group.name, "changed": changed},
        )
    return group


def delete_group(ctx: Context, group_id: uuid.UUID) -> None:
    partner = partners.require_partner(ctx)
    group = _one(ctx, partner.id, group_id)
    audit.record(
        ctx, partner.id, "customer_group.deleted", str(group.id), details={"name": group.name}
    )
    ctx.session.delete(group)


def members(
    ctx: Context, group_id: uuid.UUID, *, cursor: str | None, limit: int
) -> Page[views.CustomerSummary]:
    """The group's customers as the caller sees them: the customer list within the group."""
    get_group(ctx, group_id)
    selection = CustomerSelection(groups=(group_id,))
    return views.customers(ctx, search=None, cursor=cursor, limit=limit, selection=selection)


def preview(ctx: Context, rule: Any, *, limit: int) -> Preview:
    """A partner admin tries a rule without saving it: how many customers it selects for
    them now, and the first page."""
    partner = partners.require_partner(ctx)
    _known_skus(ctx, rule)
    condition = rule_condition(ctx, partner.id, rule, Tenant.id)
    visible = views.visible_condition(ctx, partner.id, Tenant.id)
    count = (
        ctx.session.scalar(select(func.count()).select_from(Tenant).where(visible, condition)) or 0
    )
    page = views.customers_where(ctx, partner.id, condition, cursor=None, limit=limit)
    return Preview(count=int(count), page=page)


# --- custom fields -------------------------------------------------------------------------


def _seen_customer(ctx: Context, partner_id: uuid.UUID, tenant_id: uuid.UUID) -> None:
    """The customer is in the caller's customer list (404 otherwise, as the dashboard)."""
    seen = ctx.session.scalar(
        select(Tenant.id).where(
            Tenant.id == tenant_id, views.visible_condition(ctx, partner_id, Tenant.id)
        )
    )
    if seen is None:
        raise NotFound("Customer not found.")


def customer_fields(ctx: Context, tenant_id: uuid.UUID) -> dict[str, str]:
    """The partner's custom fields on a customer the caller sees (agents included)."""
    partner = partners.require_partner(ctx, None)
    _seen_customer(ctx, partner.id, tenant_id)
    rows = ctx.session.execute(
        select(CustomerField.key, CustomerField.value)
        .where(
            CustomerField.partner_tenant_id == partner.id,
            CustomerField.customer_tenant_id == tenant_id,
        )
        .order_by(CustomerField.key)
    )
    return {key: value for key, value in rows}


def set_customer_fields(
    ctx: Context, tenant_id: uuid.UUID, fields: dict[str, str]
) -> dict[str, str]:
    """A partner admin replaces a customer's custom fields (the whole set; an empty value
    removes the field)."""
    partner = partners.require_partner(ctx)
    _seen_customer(ctx, partner.id, tenant_id)
    kept = {k.strip(): v.strip() for k, v in fields.items() if v.strip()}
    if len(kept) > MAX_FIELDS:
        raise InvalidInput(f"A customer has at most {MAX_FIELDS} custom fields.")
    for key, value in kept.items():
        if not re.fullmatch(FIELD_KEY_PATTERN, key) or len(key) > MAX_FIELD_KEY:
            raise InvalidInput(
                f"Field name {key!r}: letters, digits, '_', '-' and '.', at most "
                f"{MAX_FIELD_KEY} characters, starting with a letter or digit."
            )
        if len(value) > MAX_FIELD_VALUE or any(ord(c) < 32 for c in value):
            raise InvalidInput(f"Field {key}: one line of at most {MAX_FIELD_VALUE} characters.")
    before = customer_fields(ctx, tenant_id)
    ctx.session.execute(
        delete(CustomerField).where(
            CustomerField.partner_tenant_id == partner.id,
            CustomerField.customer_tenant_id == tenant_id,
        )
    )
    ctx.session.add_all(
        CustomerField(
            partner_tenant_id=partner.id,
            customer_tenant_id=tenant_id,
            key=key,
            value=value,
            updated_at=ctx.now,
        )
        for key, value in kept.items()
    )
    if kept != before:
        audit.record(
            ctx,
            partner.id,
            "customer_fields.updated",
            str(tenant_id),
            details={"keys": sorted(kept), "removed": sorted(set(before) - set(kept))},
        )
    return dict(sorted(kept.items()))


def may_manage(ctx: Context) -> bool:
    """Whether the caller is a partner admin (pages show the forms that change groups and
    fields only to them; the services refuse the others anyway)."""
    partner = partners.require_partner(ctx, None)
    return access.decide(ctx, partner.id).allows(Permission.PARTNER_MANAGE)
