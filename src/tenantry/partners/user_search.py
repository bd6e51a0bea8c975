"""Users across customers: the search behind Find and Assist's filters, the users a job
acts on when chosen by a search, and the users report (issue 14).

One rule with two uses: a user is found only where the agent may read users
(``access.restrict_to(..., USERS_READ, ...)``), so what a search shows is exactly what the
agent's decision may read. A filter that reads more than the user itself also needs that
permission in the user's customer, or it finds nobody there: "holds an admin role" needs
roles.read (who is an admin is not users.read's to tell), "unlicensed" subscriptions.read.
A job still decides every item again when it runs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.core.context import Context
from tenantry.core.pagination import Page, paginate
from tenantry.core.search import prefix_match
from tenantry.models import GroupMember, LicenseAssignment, RoleAssignment, Tenant, User
from tenantry.partners import enrolment as partners
from tenantry.partners import reports
from tenantry.partners.selection import CustomerSelection, selected_customers


@dataclass(frozen=True)
class UserFilters:
    """What a user must be to be found; None (or False) means "either"."""

    query: str | None = None  # a prefix of the UPN or the display name
    disabled: bool | None = None  # True: sign-in blocked; False: may sign in
    no_second_factor: bool = False  # no factor in use (TOTP or passkey)
    admin_role: bool = False  # holds an admin role, directly or through a group
    unlicensed: bool = False  # holds no licence


def _holds_admin_role() -> Any:
    direct = select(RoleAssignment.id).where(RoleAssignment.user_id == User.id)
    via_group = (
        select(RoleAssignment.id)
        .join(GroupMember, GroupMember.group_id == RoleAssignment.group_id)
        .where(GroupMember.user_id == User.id)
    )
    return direct.exists() | via_group.exists()


def matching_users(
    ctx: Context,
    partner_id: uuid.UUID,
    customers: CustomerSelection | None,
    filters: UserFilters,
) -> Select[uuid.UUID, uuid.UUID]:
    """SELECT (User.tenant_id, User.id) of the users matching ``filters`` in the selected
    customers, where the agent may read users (and what each filter reads). Not ordered:
    callers order or page it."""
    principal = ctx.require_principal()

    def may(permission: Permission) -> Any:
        return access.restrict_to(principal, permission, User.tenant_id, ctx.now)

    stmt: Select[uuid.UUID, uuid.UUID] = select(User.tenant_id, User.id).where(
        User.tenant_id.in_(selected_customers(ctx, partner_id, customers)),
        may(Permission.USERS_READ),
    )
    term = (filters.query or "").strip().lower()
    if term:
        stmt = stmt.where(
            prefix_match(ctx.session, User.user_principal_name, term)
            | prefix_match(ctx.session, func.lower(User.display_name), term)
        )
    if filters.disabled is not None:
        stmt = stmt.where(User.enabled.is_(not filters.disabled))
    if filters.no_second_factor:
        stmt = stmt.where(User.mfa_enabled.is_(False))
    if filters.admin_role:
        stmt = stmt.where(may(Permission.ROLES_READ), _holds_admin_role())
    if filters.unlicensed:
        licensed = select(LicenseAssignment.id).where(LicenseAssignment.user_id == User.id)
        stmt = stmt.where(may(Permission.SUBSCRIPTIONS_READ), ~licensed.exists())
    return stmt


def search_users(
    ctx: Context,
    customers: CustomerSelection | None,
    filters: UserFilters,
    *,
    cursor: str | None,
    limit: int,
) -> Page[reports.Row]:
    """Find and Assist across customers: a page of the matching users by UPN, each as the
    users report shows it (a cell the agent may not read in that customer is None). A fixed
    number of queries per page."""
    partner = partners.require_partner(ctx, None)
    found = matching_users(ctx, partner.id, customers, filters).subquery()
    stmt: Select[Any] = (
        select(User, Tenant.name)  # type: ignore[assignment]  # rows of an entity and a name
        .join(found, found.c.id == User.id)
        .join(Tenant, Tenant.id == User.tenant_id)
    )
    page: Page[Any] = paginate(
        ctx.session, stmt, [User.user_principal_name, User.id], cursor, limit, rows=True
    )
    if not page.items:
        return Page([], None)
    tenant_ids = sorted({user.tenant_id for user, _ in page.items})
    user_ids = [user.id for user, _ in page.items]
    readable = reports.readable_in(
        ctx, tenant_ids, (Permission.ROLES_READ, Permission.SUBSCRIPTIONS_READ)
    )
    may_roles = readable[Permission.ROLES_READ]
    may_licenses = readable[Permission.SUBSCRIPTIONS_READ]
    roles = reports.user_roles_in(ctx.session, sorted(may_roles), user_ids)
    licenses = reports.user_licenses_in(ctx.session, sorted(may_licenses), user_ids)
    rows = [
        {
            "tenant_id": user.tenant_id,
            "tenant_name": tenant,
            "user_id": user.id,
            "user_principal_name": user.user_principal_name,
            "display_name": user.display_name,
            "enabled": user.enabled,
            "second_factor": user.mfa_enabled,
            "admin_roles": sorted(roles.get(user.id, ())) if user.tenant_id in may_roles else None,
            "licenses": sorted(licenses.get(user.id, ()))
            if user.tenant_id in may_licenses
            else None,
            "last_sign_in_at": user.last_sign_in_at,
        }
        for user, tenant in page.items
    ]
    return Page(rows, page.next_cursor)
