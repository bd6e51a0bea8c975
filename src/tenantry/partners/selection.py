"""Which customers: the one shape every "set of customers" takes across the Partner center
(the customer list, reports, jobs, access templates), so "group G except X" is accepted
wherever a set is chosen (issue 14).

A selection resolves to a SELECT of customer tenant ids among the partner's own customers;
it says nothing about what the agent may do or read there: callers still apply
``access.restrict_to`` (sets) or ``access.decide`` (one item), the one rule.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, not_, or_, select, true
from sqlalchemy.orm import aliased

from tenantry.core.context import Context
from tenantry.core.errors import NotFound
from tenantry.models import CustomerGroup, CustomerGroupMember, Relationship, Tenant
from tenantry.partners.customer_group_rules import parse_rule, rule_condition

GROUP_NOT_FOUND = "Customer group not found."


@dataclass(frozen=True)
class CustomerSelection:
    """Customers in any of ``groups`` or among ``customers`` (every customer of the partner
    when both are empty), minus those in ``except_groups`` or ``except_customers``."""

    groups: tuple[uuid.UUID, ...] = ()
    customers: tuple[uuid.UUID, ...] = ()
    except_groups: tuple[uuid.UUID, ...] = ()
    except_customers: tuple[uuid.UUID, ...] = ()

    @property
    def everyone(self) -> bool:
        """No inclusion given: every customer (less the exceptions)."""
        return not self.groups and not self.customers


def partner_customers(partner_id: uuid.UUID) -> Select[uuid.UUID]:
    """The partner's customers: every tenant with a relationship to it, whatever its status
    (a rule may pick by status)."""
    return (
        select(Relationship.customer_tenant_id)
        .where(Relationship.partner_tenant_id == partner_id)
        .distinct()
    )


def partner_groups(
    ctx: Context, partner_id: uuid.UUID, group_ids: tuple[uuid.UUID, ...]
) -> list[CustomerGroup]:
    """These groups of the partner (one query); any that is unknown or another partner's is
    a 404, the same answer for both, so group ids can't be probed."""
    wanted = set(group_ids)
    found = list(
        ctx.session.scalars(
            select(CustomerGroup).where(
                CustomerGroup.id.in_(wanted), CustomerGroup.partner_tenant_id == partner_id
            )
        )
    )
    if len(found) != len(wanted):
        raise NotFound(GROUP_NOT_FOUND)
    return found


def group_condition(
    ctx: Context, partner_id: uuid.UUID, group_ids: tuple[uuid.UUID, ...], column: Any
) -> ColumnElement[bool]:
    """The customer in ``column`` is in any of these groups, as the caller may read it: one of
    their chosen customers, or meeting one of their rules (each condition over the customer's
    data guarded by ``access.restrict_to``, partners/customer_group_rules.py). One condition,
    a loop over the groups only (at most 100), never over customers."""
    groups = partner_groups(ctx, partner_id, group_ids)
    chosen = select(CustomerGroupMember.customer_tenant_id).where(
        CustomerGroupMember.group_id.in_([g.id for g in groups])
    )
    parts: list[ColumnElement[bool]] = [column.in_(chosen)]
    for group in groups:
        if group.rule is not None:
            parts.append(rule_condition(ctx, partner_id, parse_rule(group.rule), column))
    return or_(*parts)


def group_members(
    ctx: Context, partner_id: uuid.UUID, group_ids: tuple[uuid.UUID, ...]
) -> Select[uuid.UUID]:
    """The customers in any of these customer groups (chosen members, or meeting a dynamic
    rule as the caller may read it), among the partner's customers. Its own alias of the
    tenants, so it correlates with nothing of the query it is put in."""
    customer = aliased(Tenant, name="group_customer")
    return select(customer.id).where(
        customer.id.in_(partner_customers(partner_id)),
        group_condition(ctx, partner_id, group_ids, customer.id),
    )


def selection_condition(
    ctx: Context, partner_id: uuid.UUID, selection: CustomerSelection | None, column: Any
) -> ColumnElement[bool]:
    """The selection as a condition over a customer tenant id column of a query whose other
    conditions already keep to the partner's customers (the customer list): the planner walks
    the page's order and checks each row, instead of computing the whole set first. Put it in
    a query over ``Tenant`` (not over ``Relationship``, whose rows the rule's guards would
    correlate with)."""
    if selection is None:
        return true()
    parts: list[ColumnElement[bool]] = []
    if not selection.everyone:
        chosen: list[ColumnElement[bool]] = []
        if selection.customers:
            chosen.append(column.in_(selection.customers))
        if selection.groups:
            chosen.append(group_condition(ctx, partner_id, selection.groups, column))
        parts.append(or_(*chosen))
    if selection.except_customers:
        parts.append(column.not_in(selection.except_customers))
    if selection.except_groups:
        parts.append(not_(group_condition(ctx, partner_id, selection.except_groups, column)))
    return and_(true(), *parts)


def selected_customers(
    ctx: Context, partner_id: uuid.UUID, selection: CustomerSelection | None
) -> Select[uuid.UUID]:
    """The selection as a SELECT of customer tenant ids, within the partner's customers. An
    unknown group is a 404 (a group of another partner is unknown); an id that is not one of
    the partner's customers simply selects nothing."""
    stmt = partner_customers(partner_id)
    if selection is None:
        return stmt
    column = Relationship.customer_tenant_id
    if not selection.everyone:
        chosen = []
        if selection.customers:
            chosen.append(column.in_(selection.customers))
        if selection.groups:
            chosen.append(column.in_(group_members(ctx, partner_id, selection.groups)))
        stmt = stmt.where(or_(*chosen))
    if selection.except_customers:
        stmt = stmt.where(column.not_in(selection.except_customers))
    if selection.except_groups:
        stmt = stmt.where(column.not_in(group_members(ctx, partner_id, selection.except_groups)))
    return stmt
