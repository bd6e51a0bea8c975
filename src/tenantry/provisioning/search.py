"""POST /.search at the root (RFC 7644 §3.4.3): Users and Groups in one query, users first,
paged across both. A filter attribute one type does not have makes that type match nothing
(RFC 7644 §3.4.2.1); one that neither has is refused (invalidFilter)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from scim2_models import InvalidFilterException
from sqlalchemy import ColumnElement, false, select, true

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.core.context import Context
from tenantry.models import Group, User
from tenantry.provisioning import filters, groups, resources, users
from tenantry.provisioning.common import Found, Paging, page


def _condition(
    to_sql: Callable[[str], ColumnElement[bool]], text: str | None
) -> tuple[ColumnElement[bool], InvalidFilterException | None]:
    if not text:
        return true(), None
    try:
        return to_sql(text), None
    except InvalidFilterException as exc:
        return false(), exc


def search_all(
    ctx: Context, tenant_id: uuid.UUID, base: str, filter_text: str | None, paging: Paging
) -> Found[resources.User | resources.Group]:
    access.require(ctx, tenant_id, Permission.USERS_READ)
    access.require(ctx, tenant_id, Permission.GROUPS_READ)
    user_condition, user_refusal = _condition(filters.users, filter_text)
    group_condition, group_refusal = _condition(filters.groups, filter_text)
    if user_refusal is not None and group_refusal is not None:
        raise user_refusal
    skip = paging.start_index - 1
    user_total, user_rows = page(
        ctx.session,
        select(User).where(User.tenant_id == tenant_id),
        user_condition,
        [User.created_at, User.id],
        paging,
    )
    left = paging.count - len(user_rows)
    group_paging = Paging(max(skip - user_total, 0) + 1, left)
    group_total, group_rows = page(
        ctx.session,
        select(Group).where(Group.tenant_id == tenant_id),
        group_condition,
        [Group.created_at, Group.id],
        group_paging,
    )
    items: list[resources.User | resources.Group] = [
        *users.represent_all(ctx, base, user_rows),
        *groups.represent_all(ctx, base, group_rows),
    ]
    return Found(user_total + group_total, paging.start_index, items)
