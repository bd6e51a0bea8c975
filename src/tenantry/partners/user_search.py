"""Users across customers: the search behind Find and Assist's filters, the users a job
acts on when chosen by a search, and the users report (issue 14).

One rule with two uses: a user is found only where the agent may read users
(``access.restrict_to(..., USERS_READ, ...)``), so what a search shows is exactly what the
agent's decision may read. A job still decides every item again when it runs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Select, func, select

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.core.context import Context
from tenantry.core.search import prefix_match
from tenantry.models import User
from tenantry.partners.selection import CustomerSelection, selected_customers


@dataclass(frozen=True)
class UserFilters:
    """What a user must be to be found; None (or False) means "either"."""

    query: str | None = None  # a prefix of the UPN or the display name
    disabled: bool | None = None  # True: sign-in blocked; False: may sign in
    no_second_factor: bool = False
    admin_role: bool = False
    unlicensed: bool = False


def matching_users(
    ctx: Context,
    partner_id: uuid.UUID,
    customers: CustomerSelection | None,
    filters: UserFilters,
) -> Select[uuid.UUID, uuid.UUID]:
    """SELECT (User.tenant_id, User.id) of the users matching ``filters`` in the selected
    customers, where the agent may read users. Not ordered: callers order or page it.
    (The filters beyond ``query`` and ``disabled`` land with Find and Assist's filters.)"""
    principal = ctx.require_principal()
    stmt: Select[uuid.UUID, uuid.UUID] = select(User.tenant_id, User.id).where(
        User.tenant_id.in_(selected_customers(ctx, partner_id, customers)),
        access.restrict_to(principal, Permission.USERS_READ, User.tenant_id, ctx.now),
    )
    term = (filters.query or "").strip().lower()
    if term:
        stmt = stmt.where(
            prefix_match(ctx.session, User.user_principal_name, term)
            | prefix_match(ctx.session, func.lower(User.display_name), term)
        )
    if filters.disabled is not None:
        stmt = stmt.where(User.enabled.is_(not filters.disabled))
    return stmt
