"""The rule language of dynamic customer groups (issue 14), and its translation into ONE SQL
condition over a customer tenant id column (set-based: no Python loop over customers).

A rule is JSON: ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": rule}`` or a condition,
named by its ``condition`` key::

    {"condition": "relationship_status", "in": ["active", "expiring"]}
    {"condition": "relationship_ends", "within_days": 90}      # or "before": "2027-01-31"
    {"condition": "auto_extend", "is": true}
    {"condition": "roles", "includes": "any" | "all", "roles": ["global_reader"]}
    {"condition": "skus", "includes": "any" | "all", "skus": ["business_standard"]}
    {"condition": "seats", "measure": "used" | "free" | "total", "op": "lt", "value": 5,
     "sku": "business_standard"}                               # sku optional: all SKUs
    {"condition": "health", "in": ["incident", "degraded"]}
    {"condition": "field", "key": "region", "equals": "EU"}    # or "in": [...], "exists": true

**Consent (docs/architecture.md §2, one rule with two uses).** A group's membership, for a
caller, is only what that caller's decision may read. The partner's own data needs no guard:
the relationship's status, end, auto-extend and roles, and the partner's custom fields. Every
condition over the customer's data is ANDed with ``access.restrict_to`` of the permission the
customer list needs to show that figure (views.FIGURE_PERMISSIONS): SKUs and seats need
``subscriptions.read``; health needs ``health.read`` and, since it tells which services the
customer holds, ``subscriptions.read`` too. Negation is pushed down to the conditions (De
Morgan), and a negated condition is guarded the same way: "does not hold SKU X" is true only
where the caller may read that the customer does not hold it. So a customer is a member only
where the rule is true whatever the facts the caller may not read (Kleene's strong logic with
the unreadable facts unknown): membership never depends on what the caller can't see.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    model_validator,
)
from sqlalchemy import ColumnElement, and_, func, not_, or_, select
from sqlalchemy.orm import aliased

from tenantry import access
from tenantry.access.json_lists import json_has_any, json_holds
from tenantry.access.roles import Permission, Role
from tenantry.core.context import Context
from tenantry.models import (
    CustomerField,
    HealthStatus,
    Relationship,
    Service,
    Sku,
    Subscription,
    SubscriptionStatus,
)
from tenantry.models.customer_groups import MAX_FIELD_KEY, MAX_FIELD_VALUE
from tenantry.models.partners import LIVE_STATUSES, RelationshipStatus

MAX_CONDITIONS = 50
MAX_DEPTH = 6
MAX_LIST = 100
FIELD_KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


class Includes(StrEnum):
    """Any of the listed values, or all of them."""

    ANY = "any"
    ALL = "all"


class SeatMeasure(StrEnum):
    """Seats of the customer's counted subscriptions (a live trial or a paid one)."""

    USED = "used"
    FREE = "free"
    TOTAL = "total"


class Comparison(StrEnum):
    LT = "lt"
    LE = "le"
    EQ = "eq"
    NE = "ne"
    GE = "ge"
    GT = "gt"


class ConditionKind(StrEnum):
    RELATIONSHIP_STATUS = "relationship_status"
    RELATIONSHIP_ENDS = "relationship_ends"
    AUTO_EXTEND = "auto_extend"
    ROLES = "roles"
    SKUS = "skus"
    SEATS = "seats"
    HEALTH = "health"
    FIELD = "field"


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RelationshipStatusIn(_Node):
    """The relationship with the partner is in one of these statuses (as the customer list
    shows it: an active one past its end reads as expired)."""

    condition: Literal[ConditionKind.RELATIONSHIP_STATUS]
    in_: list[RelationshipStatus] = Field(alias="in", min_length=1, max_length=5)


class RelationshipEnds(_Node):
    """A live relationship ends within N days from now, or before a date (UTC midnight)."""

    condition: Literal[ConditionKind.RELATIONSHIP_ENDS]
    within_days: int | None = Field(default=None, ge=0, le=3650)
    before: date | None = None

    @model_validator(mode="after")
    def _one(self) -> RelationshipEnds:
        if (self.within_days is None) == (self.before is None):
            raise ValueError("give either within_days or before")
        return self


class AutoExtend(_Node):
    """A live relationship extends itself (or, with ``is: false``, does not)."""

    condition: Literal[ConditionKind.AUTO_EXTEND]
    is_: bool = Field(default=True, alias="is")


class RolesGranted(_Node):
    """A live relationship grants any (or all) of these roles."""

    condition: Literal[ConditionKind.ROLES]
    includes: Includes = Includes.ANY
    roles: list[Role] = Field(min_length=1, max_length=20)


class SkusHeld(_Node):
    """The customer holds a counted subscription (a live trial or a paid one) of any (or all)
    of these SKUs. Needs subscriptions.read."""

    condition: Literal[ConditionKind.SKUS]
    includes: Includes = Includes.ANY
    skus: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=MAX_LIST
    )


class SeatsCompared(_Node):
    """Seats used, free or in total over the customer's counted subscriptions (of one SKU, or
    of all), compared with a number. Needs subscriptions.read."""

    condition: Literal[ConditionKind.SEATS]
    measure: SeatMeasure
    op: Comparison
    value: int = Field(ge=0, le=1_000_000_000)
    sku: str | None = Field(default=None, min_length=1, max_length=64)


Unhealthy = Literal[HealthStatus.DEGRADED, HealthStatus.INCIDENT]


def _any_unhealthy() -> list[Unhealthy]:
    return [HealthStatus.DEGRADED, HealthStatus.INCIDENT]


class HealthAffected(_Node):
    """Health per customer: a platform service that one of the customer's counted
    subscriptions includes (its SKU's ``services``) is in one of these statuses (``degraded``
    is an advisory, ``incident`` an incident). Needs health.read and subscriptions.read."""

    condition: Literal[ConditionKind.HEALTH]
    in_: list[Unhealthy] = Field(
        default_factory=_any_unhealthy,
        alias="in",
        min_length=1,
        max_length=2,
    )


FieldKey = Annotated[str, Field(min_length=1, max_length=MAX_FIELD_KEY, pattern=FIELD_KEY_PATTERN)]
FieldValue = Annotated[str, Field(max_length=MAX_FIELD_VALUE)]


class CustomFieldIs(_Node):
    """A custom field of the partner's on the customer: equals a value, is one of some
    values, or exists (``exists: false``: is not set)."""

    condition: Literal[ConditionKind.FIELD]
    key: FieldKey
    equals: FieldValue | None = None
    in_: list[FieldValue] | None = Field(
        default=None, alias="in", min_length=1, max_length=MAX_LIST
    )
    exists: bool | None = None

    @model_validator(mode="after")
    def _one(self) -> CustomFieldIs:
        given = [v for v in (self.equals, self.in_, self.exists) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of equals, in or exists")
        return self


class RuleAll(_Node):
    all: list[Rule] = Field(min_length=1, max_length=MAX_CONDITIONS)


class RuleAny(_Node):
    any: list[Rule] = Field(min_length=1, max_length=MAX_CONDITIONS)


class RuleNot(_Node):
    not_: Rule = Field(alias="not")


Condition = (
    RelationshipStatusIn
    | RelationshipEnds
    | AutoExtend
    | RolesGranted
    | SkusHeld
    | SeatsCompared
    | HealthAffected
    | CustomFieldIs
)
_TAGS: dict[type[_Node], str] = {
    RuleAll: "all",
    RuleAny: "any",
    RuleNot: "not",
    RelationshipStatusIn: ConditionKind.RELATIONSHIP_STATUS,
    RelationshipEnds: ConditionKind.RELATIONSHIP_ENDS,
    AutoExtend: ConditionKind.AUTO_EXTEND,
    RolesGranted: ConditionKind.ROLES,
    SkusHeld: ConditionKind.SKUS,
    SeatsCompared: ConditionKind.SEATS,
    HealthAffected: ConditionKind.HEALTH,
    CustomFieldIs: ConditionKind.FIELD,
}
RULE_SHAPES = (
    'a rule is {"all": [rules]}, {"any": [rules]}, {"not": rule} or a condition '
    '{"condition": ...} where the condition is one of ' + ", ".join(ConditionKind)
)


def _tag(value: Any) -> str | None:
    """Which shape a rule is, so a mistake is reported against that shape alone."""
    if isinstance(value, dict):
        for operator in ("all", "any", "not"):
            if operator in value:
                return operator
        condition = value.get("condition")
        return condition if isinstance(condition, str) else None
    return _TAGS.get(type(value))


Rule = Annotated[
    Annotated[RuleAll, Tag("all")]
    | Annotated[RuleAny, Tag("any")]
    | Annotated[RuleNot, Tag("not")]
    | Annotated[RelationshipStatusIn, Tag(ConditionKind.RELATIONSHIP_STATUS)]
    | Annotated[RelationshipEnds, Tag(ConditionKind.RELATIONSHIP_ENDS)]
    | Annotated[AutoExtend, Tag(ConditionKind.AUTO_EXTEND)]
    | Annotated[RolesGranted, Tag(ConditionKind.ROLES)]
    | Annotated[SkusHeld, Tag(ConditionKind.SKUS)]
    | Annotated[SeatsCompared, Tag(ConditionKind.SEATS)]
    | Annotated[HealthAffected, Tag(ConditionKind.HEALTH)]
    | Annotated[CustomFieldIs, Tag(ConditionKind.FIELD)],
    Discriminator(
        _tag,
        custom_error_type="invalid_rule",
        custom_error_message=RULE_SHAPES,
    ),
]
RuleAll.model_rebuild()
RuleAny.model_rebuild()
RuleNot.model_rebuild()


def _size(rule: Any, depth: int = 1) -> int:
    if depth > MAX_DEPTH:
        raise ValueError(f"a rule nests at most {MAX_DEPTH} levels deep")
    if isinstance(rule, RuleAll | RuleAny):
        return sum(
            _size(r, depth + 1) for r in (rule.all if isinstance(rule, RuleAll) else rule.any)
        )
    if isinstance(rule, RuleNot):
        return _size(rule.not_, depth + 1)
    return 1


def _bounded(rule: Any) -> Any:
    if _size(rule) > MAX_CONDITIONS:
        raise ValueError(f"a rule has at most {MAX_CONDITIONS} conditions")
    return rule


# A whole rule as a body takes it: bounded in depth and number of conditions.
GroupRule = Annotated[Rule, AfterValidator(_bounded)]
RULE_ADAPTER: TypeAdapter[Any] = TypeAdapter(GroupRule)


def parse_rule(stored: dict[str, Any]) -> Any:
    """A stored rule (validated when it was saved) back into its model."""
    return RULE_ADAPTER.validate_python(stored)


def dump_rule(rule: Any) -> dict[str, Any]:
    """The rule as stored and shown: its JSON with the keys of the language, defaults left in."""
    dumped: dict[str, Any] = RULE_ADAPTER.dump_python(
        rule, mode="json", by_alias=True, exclude_none=True
    )
    return dumped


def conditions(rule: Any) -> list[Any]:
    """Every condition of the rule (its leaves), for checks that need the catalogue."""
    if isinstance(rule, RuleAll | RuleAny):
        return [
            c for r in (rule.all if isinstance(rule, RuleAll) else rule.any) for c in conditions(r)
        ]
    if isinstance(rule, RuleNot):
        return conditions(rule.not_)
    return [rule]


# --- the rule as SQL -----------------------------------------------------------------------


class _Compiler:
    """One rule into one condition over ``column`` (a customer tenant id), for ``ctx``'s
    caller in ``partner_id``. Each subquery uses its own aliases, so it correlates with
    ``column`` only, whatever query the condition is put in."""

    def __init__(self, ctx: Context, partner_id: Any, column: Any) -> None:
        self.principal = ctx.require_principal()
        self.now = ctx.now
        self.partner_id = partner_id
        self.column = column

    def may(self, *permissions: Permission) -> ColumnElement[bool]:
        """``access.restrict_to`` of each permission for the row's customer, tested row by
        row (``access.restrict_row_by_row``), only for the rows whose facts hold (the cheap
        parts come first)."""
        return access.restrict_row_by_row(self.principal, permissions, self.column, self.now)

    def rule(self, node: Any, negated: bool = False) -> ColumnElement[bool]:
        return self.costed(node, negated)[0]

    def costed(self, node: Any, negated: bool) -> tuple[ColumnElement[bool], int]:
        """The condition and how dear it is to test (0: the partner's own data; 1: guarded
        by the delegated rule). Within an and/or the cheap parts come first, and in a
        condition the fact before its guard, so a database that evaluates in order (SQLite)
        tries the delegated rule only for the rows that still need it."""
        if isinstance(node, RuleAll | RuleAny):
            children = node.all if isinstance(node, RuleAll) else node.any
            parts = sorted((self.costed(r, negated) for r in children), key=lambda p: p[1])
            cost = max(c for _, c in parts)
            # De Morgan: not(all) is any(not), not(any) is all(not).
            if isinstance(node, RuleAll) == negated:
                return or_(*[p for p, _ in parts]), cost
            return and_(*[p for p, _ in parts]), cost
        if isinstance(node, RuleNot):
            return self.costed(node.not_, not negated)
        fact, guard = self.condition(node)
        held = not_(fact) if negated else fact
        return (held, 0) if guard is None else (and_(held, guard), 1)

    # Each condition: (the fact, never NULL; the guard that reading it needs, or None).

    def condition(self, node: Any) -> tuple[ColumnElement[bool], ColumnElement[bool] | None]:
        match node:
            case RelationshipStatusIn():
                return self.relationship(lambda r: [self.status_in(r, node.in_)]), None
            case RelationshipEnds():
                return self.relationship(lambda r: [self.live(r), self.ends(r, node)]), None
            case AutoExtend():
                return self.relationship(
                    lambda r: [self.live(r), r.auto_extend.is_(node.is_)]
                ), None
            case RolesGranted():
                roles = [role.value for role in node.roles]
                chosen = [roles] if node.includes == Includes.ANY else [[role] for role in roles]
                return self.relationship(
                    lambda r: [self.live(r), *[json_has_any(r.roles, c) for c in chosen]]
                ), None
            case SkusHeld():
                if node.includes == Includes.ANY:
                    fact = self.holds(node.skus)
                else:
                    fact = and_(*[self.holds([sku]) for sku in dict.fromkeys(node.skus)])
                return fact, self.may(Permission.SUBSCRIPTIONS_READ)
            case SeatsCompared():
                return self.seats(node), self.may(Permission.SUBSCRIPTIONS_READ)
            case HealthAffected():
                return self.affected(node.in_), self.may(
                    Permission.HEALTH_READ, Permission.SUBSCRIPTIONS_READ
                )
            case CustomFieldIs():
                return self.field(node), None
        raise AssertionError(f"unknown condition {node!r}")  # pragma: no cover

    # -- the partner's own data: its relationship with the customer, its custom fields

    def relationship(self, where: Any) -> ColumnElement[bool]:
        """EXISTS a relationship of this partner with the customer meeting ``where(r)``."""
        r = aliased(Relationship, name="group_link")
        return (
            select(r.id)
            .where(
                r.customer_tenant_id == self.column,
                r.partner_tenant_id == self.partner_id,
                *where(r),
            )
            .exists()
        )

    def live(self, r: Any) -> ColumnElement[bool]:
        return and_(r.status.in_(LIVE_STATUSES), or_(r.ends_at.is_(None), r.ends_at > self.now))

    def ends(self, r: Any, node: RelationshipEnds) -> ColumnElement[bool]:
        if node.within_days is not None:
            return and_(r.ends_at.is_not(None), r.ends_at <= self.now + timedelta(node.within_days))
        assert node.before is not None
        return and_(
            r.ends_at.is_not(None),
            r.ends_at < datetime.combine(node.before, datetime.min.time(), UTC),
        )

    def status_in(self, r: Any, statuses: list[RelationshipStatus]) -> ColumnElement[bool]:
        """The status as the customer list shows it: active or expiring past ``ends_at`` is
        expired (before the sweeper stores it)."""
        past_end = and_(r.status.in_(LIVE_STATUSES), r.ends_at.is_not(None), r.ends_at <= self.now)
        parts = []
        for status in dict.fromkeys(statuses):
            if status in LIVE_STATUSES:
                parts.append(
                    and_(r.status == status, or_(r.ends_at.is_(None), r.ends_at > self.now))
                )
            elif status == RelationshipStatus.EXPIRED:
                parts.append(or_(r.status == status, past_end))
            else:
                parts.append(r.status == status)
        return or_(*parts)

    def field(self, node: CustomFieldIs) -> ColumnElement[bool]:
        f = aliased(CustomerField, name="group_field")
        where = [
            f.partner_tenant_id == self.partner_id,
            f.customer_tenant_id == self.column,
            f.key == node.key,
        ]
        if node.equals is not None:
            where.append(f.value == node.equals)
        elif node.in_ is not None:
            where.append(f.value.in_(node.in_))
        fact = select(f.key).where(*where).exists()
        return not_(fact) if node.exists is False else fact

    # -- the customer's data (guarded)

    def counted(self, s: Any) -> ColumnElement[bool]:
        """A subscription that counts now: not expired, and not a trial past its end."""
        return and_(
            s.tenant_id == self.column,
            s.status != SubscriptionStatus.EXPIRED,
            or_(s.trial_ends_at.is_(None), s.trial_ends_at > self.now),
        )

    def holds(self, skus: list[str]) -> ColumnElement[bool]:
        s = aliased(Subscription, name="group_sub")
        return select(s.id).where(self.counted(s), s.sku_id.in_(skus)).exists()

    def seats(self, node: SeatsCompared) -> ColumnElement[bool]:
        s = aliased(Subscription, name="group_sub")
        figure = {
            SeatMeasure.USED: func.sum(s.assigned),
            SeatMeasure.TOTAL: func.sum(s.seats),
            SeatMeasure.FREE: func.sum(s.seats - s.assigned),
        }[node.measure]
        where = [self.counted(s)]
        if node.sku is not None:
            where.append(s.sku_id == node.sku)
        value = select(func.coalesce(figure, 0)).where(*where).scalar_subquery()
        compare = {
            Comparison.LT: value < node.value,
            Comparison.LE: value <= node.value,
            Comparison.EQ: value == node.value,
            Comparison.NE: value != node.value,
            Comparison.GE: value >= node.value,
            Comparison.GT: value > node.value,
        }
        return compare[node.op]

    def affected(self, statuses: Sequence[HealthStatus]) -> ColumnElement[bool]:
        s = aliased(Subscription, name="group_sub")
        k = aliased(Sku, name="group_sku")
        v = aliased(Service, name="group_service")
        return (
            select(s.id)
            .join(k, k.id == s.sku_id)
            .join(v, json_holds(k.services, v.id))
            .where(self.counted(s), v.status.in_(statuses))
            .exists()
        )


def rule_condition(ctx: Context, partner_id: Any, rule: Any, column: Any) -> ColumnElement[bool]:
    """The rule as ONE SQL condition over ``column`` (a customer tenant id), true where the
    customer is a member as the caller's decision may read it (see the module's docstring)."""
    return _Compiler(ctx, partner_id, column).rule(rule)
