"""SCIM filters (RFC 7644 §3.4.2.2) as SQL conditions: scim2-models parses the filter (its
grammar, with a depth limit), a visitor here turns the tree into a SQLAlchemy condition over
the attributes each resource type maps to columns, so filtering and paging happen in the
database. Every operator (eq ne co sw ew gt ge lt le pr, and or not, value paths such as
``emails[type eq "work"]``) on the attributes listed in ``USER_ATTRIBUTES`` and
``GROUP_ATTRIBUTES``; anything else is refused with ``invalidFilter``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)
from sqlalchemy import ColumnElement, and_, exists, false, func, not_, or_, true

from tenantry.models import Group, GroupMember, User, UserEmail
from tenantry.provisioning.resources import GROUP_SCHEMA, USER_SCHEMA


class Kind(StrEnum):
    """How an attribute compares: strings with or without case, booleans, ids, times."""

    TEXT = "text"  # caseExact false: compared lower-cased
    EXACT = "exact"  # caseExact true
    BOOLEAN = "boolean"
    ID = "id"
    TIME = "time"


@dataclass(frozen=True)
class Column:
    expr: Any
    kind: Kind


@dataclass(frozen=True)
class Multi:
    """A multi-valued attribute kept in rows of another table: ``exists`` wraps a condition
    on those rows; ``default`` is the sub-attribute a bare comparison means (``value``)."""

    exists: Callable[[ColumnElement[bool]], ColumnElement[bool]]
    subs: dict[str, Column] = field(default_factory=dict)
    default: str = "value"


Attributes = dict[str, Column | Multi]

USER_ATTRIBUTES: Attributes = {
    "id": Column(User.id, Kind.ID),
    "username": Column(func.coalesce(User.user_name, User.user_principal_name), Kind.TEXT),
    "displayname": Column(User.display_name, Kind.TEXT),
    "externalid": Column(User.external_id, Kind.EXACT),
    "active": Column(User.enabled, Kind.BOOLEAN),
    "meta.created": Column(User.created_at, Kind.TIME),
    "meta.lastmodified": Column(User.updated_at, Kind.TIME),
    "emails": Multi(
        lambda condition: exists().where(UserEmail.user_id == User.id, condition),
        {
            "value": Column(UserEmail.value, Kind.TEXT),
            "type": Column(UserEmail.type, Kind.TEXT),
            "display": Column(UserEmail.display, Kind.TEXT),
            "primary": Column(UserEmail.primary, Kind.BOOLEAN),
        },
    ),
    "groups": Multi(
        lambda condition: exists().where(GroupMember.user_id == User.id, condition),
        {"value": Column(GroupMember.group_id, Kind.ID)},
    ),
}

GROUP_ATTRIBUTES: Attributes = {
    "id": Column(Group.id, Kind.ID),
    "displayname": Column(Group.name, Kind.TEXT),
    "externalid": Column(Group.external_id, Kind.EXACT),
    "meta.created": Column(Group.created_at, Kind.TIME),
    "meta.lastmodified": Column(func.coalesce(Group.updated_at, Group.created_at), Kind.TIME),
    "members": Multi(
        lambda condition: exists().where(GroupMember.group_id == Group.id, condition),
        {"value": Column(GroupMember.user_id, Kind.ID)},
    ),
}


def invalid(detail: str) -> InvalidFilterException:
    return InvalidFilterException(detail=detail)


def _value(column: Column, value: Any) -> Any:
    """The comparison value in the column's terms (refused: invalidFilter)."""
    if column.kind in (Kind.TEXT, Kind.EXACT):
        if not isinstance(value, str):
            raise invalid(f"Compare this attribute with a string, not {value!r}.")
        return value.lower() if column.kind == Kind.TEXT else value
    if column.kind == Kind.BOOLEAN:
        if not isinstance(value, bool):
            raise invalid(f"Compare this attribute with true or false, not {value!r}.")
        return value
    if column.kind == Kind.ID:
        if not isinstance(value, str):
            raise invalid(f"Compare an id with a string, not {value!r}.")
        try:
            return uuid.UUID(value)
        except ValueError:
            return None  # an id we never issued: matches nothing
    if not isinstance(value, str):
        raise invalid(f"Compare a time with a dateTime string, not {value!r}.")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"{value!r} is not a dateTime (RFC 3339).") from None
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:  # its offset carries it past year 1 or 9999
        raise invalid(f"{value!r} is out of range.") from None


def _compare(column: Column, op: CompareOperator, raw: Any) -> ColumnElement[bool]:
    expr = func.lower(column.expr) if column.kind == Kind.TEXT else column.expr
    if raw is None:
        if op == CompareOperator.eq:
            return column.expr.is_(None)
        if op == CompareOperator.ne:
            return column.expr.is_not(None)
        raise invalid(f"'{op.value} null' compares nothing.")
    value = _value(column, raw)
    if column.kind in (Kind.BOOLEAN, Kind.ID) and op not in (
        CompareOperator.eq,
        CompareOperator.ne,
    ):
        raise invalid(f"'{op.value}' does not apply to this attribute: use eq or ne.")
    if column.kind == Kind.ID and value is None:
        return false() if op == CompareOperator.eq else true()
    if column.kind == Kind.TIME and op in (
        CompareOperator.co,
        CompareOperator.sw,
        CompareOperator.ew,
    ):
        raise invalid(f"'{op.value}' does not apply to a dateTime.")
    match op:
        case CompareOperator.eq:
            return expr == value
        case CompareOperator.ne:
            return or_(column.expr.is_(None), expr != value)
        case CompareOperator.co:
            return expr.contains(value, autoescape=True)
        case CompareOperator.sw:
            return expr.startswith(value, autoescape=True)
        case CompareOperator.ew:
            return expr.endswith(value, autoescape=True)
        case CompareOperator.gt:
            return expr > value
        case CompareOperator.ge:
            return expr >= value
        case CompareOperator.lt:
            return expr < value
        case CompareOperator.le:
            return expr <= value
    raise invalid(f"Unknown operator {op}.")  # pragma: no cover


def _present(column: Column) -> ColumnElement[bool]:
    if column.kind in (Kind.TEXT, Kind.EXACT):
        return and_(column.expr.is_not(None), column.expr != "")
    return column.expr.is_not(None)


class ToSql(FilterVisitor[ColumnElement[bool]]):
    """A filter tree as a SQL condition over ``attributes`` (or, inside a value path, over
    the sub-attributes of one multi-valued attribute)."""

    def __init__(self, attributes: Attributes, schema: str, within: Multi | None = None) -> None:
        self.attributes = attributes
        self.schema = schema
        self.within = within

    def _resolve(self, path: AttrPath) -> tuple[Column | None, Multi | None, str]:
        """(column, multi-valued attribute it lives in, name) of an attribute path."""
        if path.uri is not None and path.uri.lower() != self.schema.lower():
            raise invalid(f"The schema {path.uri} is not this resource's.")
        name = path.attr.lower() + (f".{path.sub_attr.lower()}" if path.sub_attr else "")
        if self.within is not None:
            column = self.within.subs.get(name)
            if column is None:
                raise invalid(f"'{path}' is not a sub-attribute that can be filtered on.")
            return column, None, name
        found = self.attributes.get(name)
        if isinstance(found, Column):
            return found, None, name
        multi = self.attributes.get(path.attr.lower())
        if isinstance(multi, Multi):
            sub = (path.sub_attr or multi.default).lower()
            column = multi.subs.get(sub)
            if column is None:
                raise invalid(f"'{path}' is not an attribute that can be filtered on.")
            return column, multi, name
        raise invalid(f"'{path}' is not an attribute that can be filtered on.")

    def visit_comparison(self, node: Comparison) -> ColumnElement[bool]:
        column, multi, _ = self._resolve(node.attr_path)
        assert column is not None
        condition = _compare(column, node.op, node.value)
        return multi.exists(condition) if multi is not None else condition

    def visit_present(self, node: Present) -> ColumnElement[bool]:
        if self.within is None and node.attr_path.sub_attr is None:
            multi = self.attributes.get(node.attr_path.attr.lower())
            if isinstance(multi, Multi):
                return multi.exists(true())
        column, multi, _ = self._resolve(node.attr_path)
        assert column is not None
        condition = _present(column)
        return multi.exists(condition) if multi is not None else condition

    def visit_not(self, node: Not) -> ColumnElement[bool]:
        return not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> ColumnElement[bool]:
        terms = [self.visit(term) for term in node.terms]
        return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)

    def visit_value_path(self, node: ValuePath) -> ColumnElement[bool]:
        if self.within is not None:
            raise invalid("A value path can't be nested in another.")
        multi = self.attributes.get(node.attr_path.attr.lower())
        if not isinstance(multi, Multi) or node.attr_path.sub_attr is not None:
            raise invalid(f"'{node.attr_path}' is not a multi-valued attribute to select in.")
        inner = ToSql(self.attributes, self.schema, within=multi).visit(node.val_filter)
        return multi.exists(inner)


MAX_FILTER_LENGTH = 2000


def parse(text: str) -> FilterNode:
    """The filter's tree (refused with invalidFilter when it is not one)."""
    if len(text) > MAX_FILTER_LENGTH:
        raise invalid(f"A filter is at most {MAX_FILTER_LENGTH} characters.")
    try:
        return ScimFilter(text).ast
    except InvalidFilterException:
        raise
    except Exception as exc:  # whatever a malformed filter makes the parser raise
        raise invalid(f"Not a filter: {exc}") from None


def users(text: str) -> ColumnElement[bool]:
    return ToSql(USER_ATTRIBUTES, USER_SCHEMA).visit(parse(text))


def groups(text: str) -> ColumnElement[bool]:
    return ToSql(GROUP_ATTRIBUTES, GROUP_SCHEMA).visit(parse(text))
