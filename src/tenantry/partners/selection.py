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

from sqlalchemy import Select, or_, select

from tenantry.core.context import Context
from tenantry.core.errors import InvalidInput
from tenantry.models import Relationship


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


def group_members(ctx: Context, partner_id: uuid.UUID, group_ids: tuple[uuid.UUID, ...]) -> Any:
    """The customers in any of these customer groups (static members or a dynamic rule).
    Placeholder until customer groups land (partners/customer_groups.py)."""
    raise InvalidInput("Customer groups are not available yet.")


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
