"""The delegated rule written once more as SQL (NetBox's ``restrict()`` pattern), for sets.

``delegated_links`` (paths.py) is which (relationship, access assignment) pairs are live for
an agent; ``delegated_path`` reads them for one customer to decide one request, and
``restrict_to`` here turns them plus the role, exclusion and policy rules into a condition
for sets (the partner views). A test on random worlds checks the two agree for every
permission.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ColumnElement, String, and_, false, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from tenantry.access.paths import delegated_links
from tenantry.access.principals import CLIENTS_NEVER_HOLD
from tenantry.access.roles import DELEGATION_EXCLUSIONS, ROLE_PERMISSIONS, Permission, Role
from tenantry.core.context import Principal
from tenantry.models import AccessAssignment, PartnerPolicy, Relationship


class _JsonHasAny(FunctionElement[bool]):
    """``json_has_any(list_column, v1, v2, ...)``: the JSON list holds one of the values."""

    type = Boolean()
    name = "json_has_any"
    inherit_cache = True


class _JsonListsShare(FunctionElement[bool]):
    """``json_lists_share(a, b, v1, v2, ...)``: one of the values is in both JSON lists."""

    type = Boolean()
    name = "json_lists_share"
    inherit_cache = True


def _elements(dialect: str, sql: str, alias: str) -> str:
    if dialect == "postgresql":
        return f"json_array_elements_text({sql}) AS {alias}(value)"
    return f"json_each({sql}) AS {alias}"


def _compile_has_any(element: _JsonHasAny, compiler: Any, **kw: Any) -> str:
    column, *values = [compiler.process(c, **kw) for c in element.clauses]
    source = _elements(compiler.dialect.name, column, "jl")
    # Only compiled fragments and bound parameters are joined here, never input.
    return f"EXISTS (SELECT 1 FROM {source} WHERE jl.value IN ({', '.join(values)}))"  # noqa: S608


def _compile_lists_share(element: _JsonListsShare, compiler: Any, **kw: Any) -> str:
    a, b, *values = [compiler.process(c, **kw) for c in element.clauses]
    dialect = compiler.dialect.name
    pairs = f"{_elements(dialect, a, 'ja')}, {_elements(dialect, b, 'jb')}"
    shared = f"ja.value = jb.value AND ja.value IN ({', '.join(values)})"
    return f"EXISTS (SELECT 1 FROM {pairs} WHERE {shared})"  # noqa: S608


compiles(_JsonHasAny)(_compile_has_any)
compiles(_JsonListsShare)(_compile_lists_share)


def json_has_any(column: Any, values: Iterable[str]) -> ColumnElement[bool]:
    """The JSON list in ``column`` holds one of ``values`` (SQLite json_each, PostgreSQL
    json_array_elements_text); false for no values."""
    chosen = sorted(set(values))
    if not chosen:
        return false()
    return _JsonHasAny(column, *[literal(v, String()) for v in chosen])


def json_lists_share(a: Any, b: Any, values: Iterable[str]) -> ColumnElement[bool]:
    """One of ``values`` is in both JSON lists (a role both the relationship and the access
    assignment hold); false for no values."""
    chosen = sorted(set(values))
    if not chosen:
        return false()
    return _JsonListsShare(a, b, *[literal(v, String()) for v in chosen])


def granting_roles(permission: Permission) -> frozenset[Role]:
    """The roles whose permissions include ``permission`` (ROLE_PERMISSIONS, read in Python)."""
    return frozenset(r for r, granted in ROLE_PERMISSIONS.items() if permission in granted)


def administrable(principal: Principal, tenant_column: Any, now: datetime) -> ColumnElement[bool]:
    """EXISTS a live link of this agent into the row's tenant: the delegated path reaches it
    (what the agent may do there is ``restrict_to``'s question)."""
    return delegated_links(principal, now, tenant_column).exists()


def restrict_to(
    principal: Principal, permission: Permission, tenant_column: Any, now: datetime
) -> ColumnElement[bool]:
    """A SQL condition true exactly when ``permissions(principal, tenant).allows(permission)``
    on the delegated path, for the tenant in ``tenant_column``: MFA, a live link whose
    relationship and assignment share a role granting it, not a delegation exclusion, not
    blocked by the customer's partner policy; for an API client, not through a role clients
    never hold (``held_back_for_clients``)."""
    if not principal.mfa or permission in DELEGATION_EXCLUSIONS:
        return false()
    never = CLIENTS_NEVER_HOLD if principal.is_client else frozenset()
    roles = [r.value for r in granting_roles(permission) - never]
    granted = (
        delegated_links(principal, now, tenant_column)
        .where(json_lists_share(Relationship.roles, AccessAssignment.roles, roles))
        .exists()
    )
    blocked = (
        select(PartnerPolicy.tenant_id)
        .where(
            PartnerPolicy.tenant_id == tenant_column,
            json_has_any(PartnerPolicy.blocked_permissions, [permission.value]),
        )
        .exists()
    )
    return and_(granted, ~blocked)
