"""Reports across customers (issue 14): users, licences per customer, the partner's
relationships, and the admins of each customer, streamed as CSV or NDJSON.

Two steps, because the stream is read after the request that asked for it has returned (and
committed): ``plan_report`` runs in the request — it resolves the caller, refuses with a
4xx before the first byte (the relationships report without partner.manage, an unknown
customer group), resolves the selection to the customers in order (one query) and audits
that the report was run; ``report_rows`` then reads the rows in its own read-only session
(``core.db.read_only``), a chunk of customers at a time: per chunk one query decides, with
the one rule for sets (``access.restrict_to`` for the plan's principal at the plan's moment,
per column's permission), what the agent may read there, then a fixed number of set-based
queries read it, the big one through a server-side cursor, so memory stays flat however many
customers and users there are.

Consent: only what each agent may read appears. A row appears only where the agent may read
the row's kind (users.read for users, subscriptions.read for licences, roles.read for
admins); a cell that needs another permission (a user's admin roles: roles.read; a user's
licences: subscriptions.read; an admin's name: users.read) is None where the agent may not
read it. The relationships report is the partner's own list of its relationships
(partner_side: partner admins only).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    type_coerce,
    union,
    union_all,
)
from sqlalchemy.orm import Session, sessionmaker

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.audit import chain as audit
from tenantry.core.context import Context, Principal
from tenantry.core.db import read_only
from tenantry.models import (
    GroupMember,
    LicenseAssignment,
    Relationship,
    RoleAssignment,
    Sku,
    Subscription,
    SubscriptionStatus,
    Tenant,
    User,
)
from tenantry.models.partners import LIVE_STATUSES, RelationshipStatus
from tenantry.partners import enrolment as partners
from tenantry.partners.selection import CustomerSelection, selected_customers

# Customers read per chunk (about CHUNK_CUSTOMERS x users-per-customer rows), and rows
# fetched per round trip of the server-side cursor.
CHUNK_CUSTOMERS = 200
FIRST_CHUNK = 20
YIELD_PER = 2_000
# Rows encoded per piece of the response body.
ROWS_PER_PIECE = 200
# Cells a spreadsheet would run as a formula (OWASP "CSV injection"): prefixed with '.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ReportKind(StrEnum):
    USERS = "users"
    LICENSES = "licenses"
    RELATIONSHIPS = "relationships"
    ADMINS = "admins"


class ReportFormat(StrEnum):
    CSV = "csv"
    NDJSON = "ndjson"


MEDIA_TYPES: dict[ReportFormat, str] = {
    ReportFormat.CSV: "text/csv",
    ReportFormat.NDJSON: "application/x-ndjson",
}

COLUMNS: dict[ReportKind, tuple[str, ...]] = {
    ReportKind.USERS: (
        "tenant_id",
        "tenant_name",
        "user_id",
        "user_principal_name",
        "display_name",
        "enabled",
        "second_factor",
        "admin_roles",
        "licenses",
        "last_sign_in_at",
    ),
    ReportKind.LICENSES: ("tenant_id", "tenant_name", "sku_id", "sku", "status", "used", "total"),
    ReportKind.RELATIONSHIPS: (
        "relationship_id",
        "tenant_id",
        "tenant_name",
        "status",
        "roles",
        "starts_at",
        "ends_at",
        "auto_extend",
    ),
    ReportKind.ADMINS: (
        "tenant_id",
        "tenant_name",
        "user_id",
        "user_principal_name",
        "display_name",
        "roles",
    ),
}

# What reading a row needs in its customer, and what reading each guarded cell needs there.
ROW_PERMISSION: dict[ReportKind, Permission | None] = {
    ReportKind.USERS: Permission.USERS_READ,
    ReportKind.LICENSES: Permission.SUBSCRIPTIONS_READ,
    ReportKind.ADMINS: Permission.ROLES_READ,
    ReportKind.RELATIONSHIPS: None,  # the partner's own data: partner.manage at home
}
CELL_PERMISSIONS: dict[ReportKind, dict[str, Permission]] = {
    ReportKind.USERS: {
        "admin_roles": Permission.ROLES_READ,
        "licenses": Permission.SUBSCRIPTIONS_READ,
    },
    ReportKind.LICENSES: {},
    ReportKind.ADMINS: {
        "user_principal_name": Permission.USERS_READ,
        "display_name": Permission.USERS_READ,
    },
    ReportKind.RELATIONSHIPS: {},
}

Row = dict[str, Any]
Cells = tuple[Any, ...]
Readable = dict[Permission, frozenset[uuid.UUID]]


@dataclass(frozen=True)
class ReportPlan:
    """What a report will read, settled in the request: who asks (and when: the decision's
    moment), and the selected customers in the report's order (by name). The stream decides
    per chunk of them, with ``access.restrict_to`` for this principal at this moment, which
    rows and cells the agent may read."""

    kind: ReportKind
    partner_id: uuid.UUID
    principal: Principal
    now: datetime
    customers: tuple[tuple[uuid.UUID, str], ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return COLUMNS[self.kind]


def plan_report(ctx: Context, kind: ReportKind, selection: CustomerSelection | None) -> ReportPlan:
    """Settle what ``kind`` reads for this caller over the selected customers, refusing
    (4xx) what it may not run at all: agents run the users, licences and admins reports, the
    relationships report is for partner admins (partner.manage, as partner_side lists them);
    an unknown customer group is 404. Audited in the partner's log. One query for the
    customers (their names, in order), whatever their number."""
    if kind == ReportKind.RELATIONSHIPS:
        partner = partners.require_partner(ctx)
    else:
        partner = partners.require_partner(ctx, None)
    chosen = selected_customers(ctx, partner.id, selection)
    customers = tuple(
        (tid, name)
        for tid, name in ctx.session.execute(
            select(Tenant.id, Tenant.name)
            .where(Tenant.id.in_(chosen))
            .order_by(Tenant.name, Tenant.id)
        )
    )
    audit.record(
        ctx,
        partner.id,
        "partner.report.run",
        f"report:{kind.value}",
        details={
            "report": kind.value,
            "customers_selected": len(customers),
            "selection": _selection_words(selection),
        },
    )
    return ReportPlan(kind, partner.id, ctx.require_principal(), ctx.now, customers)


def readable_in(
    ctx: Context,
    chosen: Select[uuid.UUID] | Sequence[uuid.UUID],
    permissions: Iterable[Permission],
) -> dict[Permission, frozenset[uuid.UUID]]:
    """Per permission, the chosen customers where the agent may use it."""
    return _readable(ctx.session, ctx.require_principal(), ctx.now, chosen, permissions)


def _readable(
    session: Session,
    principal: Principal,
    now: datetime,
    chosen: Select[uuid.UUID] | Sequence[uuid.UUID],
    permissions: Iterable[Permission],
) -> dict[Permission, frozenset[uuid.UUID]]:
    """Per permission, the chosen customers where the agent may use it: the one rule for
    sets, in one query (a UNION ALL of ``restrict_to`` per permission)."""
    wanted = sorted(set(permissions))
    parts = [
        select(literal(permission.value).label("permission"), Tenant.id).where(
            Tenant.id.in_(chosen), access.restrict_to(principal, permission, Tenant.id, now)
        )
        for permission in wanted
    ]
    found: dict[Permission, set[uuid.UUID]] = {p: set() for p in wanted}
    for permission, tenant_id in session.execute(union_all(*parts)):
        found[Permission(permission)].add(tenant_id)
    return {p: frozenset(ids) for p, ids in found.items()}


def _selection_words(selection: CustomerSelection | None) -> dict[str, list[str]]:
    if selection is None:
        return {}
    return {
        name: [str(i) for i in ids]
        for name, ids in (
            ("groups", selection.groups),
            ("customers", selection.customers),
            ("except_groups", selection.except_groups),
            ("except_customers", selection.except_customers),
        )
        if ids
    }


def report_rows(factory: sessionmaker[Session], plan: ReportPlan) -> Iterator[Cells]:
    """The report's rows, read in a read-only session of its own (the request's is gone by
    then)."""
    with read_only(factory) as session:
        yield from rows_in(session, plan)


def rows_in(session: Session, plan: ReportPlan) -> Iterator[Cells]:
    """The report's rows (cells in ``plan.columns`` order) read in ``session``, a chunk of
    customers at a time: per chunk, one query decides where the agent may read what
    (``restrict_to`` per permission), then a fixed number of set-based queries read it."""
    row_permission = ROW_PERMISSION[plan.kind]
    permissions = {*CELL_PERMISSIONS[plan.kind].values()}
    if row_permission is not None:
        permissions.add(row_permission)
    # A small first chunk, so that the first rows go out at once; then full chunks.
    bounds = [0, *range(min(FIRST_CHUNK, CHUNK_CUSTOMERS), len(plan.customers), CHUNK_CUSTOMERS)]
    for start, end in zip(bounds, [*bounds[1:], len(plan.customers)], strict=True):
        chunk = plan.customers[start:end]
        if not chunk:
            continue
        readable: dict[Permission, frozenset[uuid.UUID]] = {}
        if permissions:
            readable = _readable(session, plan.principal, plan.now, _chunk_ids(chunk), permissions)
        if row_permission is not None:
            chunk = tuple(c for c in chunk if c[0] in readable[row_permission])
        if chunk:
            yield from READERS[plan.kind](session, plan, chunk, readable)


def as_dicts(plan: ReportPlan, rows: Iterable[Cells]) -> Iterator[Row]:
    return (dict(zip(plan.columns, row, strict=True)) for row in rows)


def _chunk_ids(chunk: Sequence[tuple[uuid.UUID, str]]) -> list[uuid.UUID]:
    return [tid for tid, _ in chunk]


def user_roles_in(
    session: Session, tenant_ids: list[uuid.UUID], user_ids: list[uuid.UUID] | None = None
) -> dict[uuid.UUID, set[str]]:
    """Admin roles of the users of these customers, held directly or through a group (as
    ``access.user_roles`` counts them): one query."""
    if not tenant_ids:
        return {}
    direct = select(RoleAssignment.user_id, RoleAssignment.role).where(
        RoleAssignment.tenant_id.in_(tenant_ids), RoleAssignment.user_id.is_not(None)
    )
    via_groups = (
        select(GroupMember.user_id, RoleAssignment.role)
        .join(RoleAssignment, RoleAssignment.group_id == GroupMember.group_id)
        .where(RoleAssignment.tenant_id.in_(tenant_ids))
    )
    if user_ids is not None:
        direct = direct.where(RoleAssignment.user_id.in_(user_ids))
        via_groups = via_groups.where(GroupMember.user_id.in_(user_ids))
    roles: dict[uuid.UUID, set[str]] = defaultdict(set)
    both: CompoundSelect[uuid.UUID | None, str] = union_all(direct, via_groups)
    for user_id, role in session.execute(both):
        if user_id is not None:
            roles[user_id].add(role)
    return roles


def user_licenses_in(
    session: Session, tenant_ids: list[uuid.UUID], user_ids: list[uuid.UUID] | None = None
) -> dict[uuid.UUID, set[str]]:
    """The SKUs each user of these customers holds a licence of: one query."""
    if not tenant_ids:
        return {}
    stmt = (
        select(LicenseAssignment.user_id, Subscription.sku_id)
        .join(Subscription, Subscription.id == LicenseAssignment.subscription_id)
        .where(LicenseAssignment.tenant_id.in_(tenant_ids))
    )
    if user_ids is not None:
        stmt = stmt.where(LicenseAssignment.user_id.in_(user_ids))
    licenses: dict[uuid.UUID, set[str]] = defaultdict(set)
    for user_id, sku_id in session.execute(stmt):
        licenses[user_id].add(sku_id)
    return licenses


Chunk = Sequence[tuple[uuid.UUID, str]]


def _uuid_text(session: Session, column: Any) -> Any:
    """The id as its usual text (8-4-4-4-12) computed by the database: half a million UUID
    objects made and printed again in Python cost seconds (SQLite stores 32 hex digits)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(column, String)
    raw = type_coerce(column, String)
    parts = [func.substr(raw, start, length) for start, length in UUID_PARTS]
    text: Any = parts[0]
    for part in parts[1:]:
        text = text.concat("-").concat(part)
    return text


UUID_PARTS = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))


def _users(session: Session, plan: ReportPlan, chunk: Chunk, readable: Readable) -> Iterator[Cells]:
    """One query for the chunk's users (streamed), one for their admin roles and one for
    their licences where the agent may read those; ids as text throughout."""
    ids = _chunk_ids(chunk)
    may_roles = readable[Permission.ROLES_READ]
    may_licenses = readable[Permission.SUBSCRIPTIONS_READ]
    user_text = _uuid_text(session, User.id)
    roles: dict[str, list[str]] = defaultdict(list)
    role_tenants = [t for t in ids if t in may_roles]
    if role_tenants:
        direct = select(_uuid_text(session, RoleAssignment.user_id), RoleAssignment.role).where(
            RoleAssignment.tenant_id.in_(role_tenants), RoleAssignment.user_id.is_not(None)
        )
        via_groups = (
            select(_uuid_text(session, GroupMember.user_id), RoleAssignment.role)
            .join(RoleAssignment, RoleAssignment.group_id == GroupMember.group_id)
            .where(RoleAssignment.tenant_id.in_(role_tenants))
        )
        for uid, role in session.execute(union(direct, via_groups)):
            roles[uid].append(role)
    licenses: dict[str, list[str]] = defaultdict(list)
    license_tenants = [t for t in ids if t in may_licenses]
    if license_tenants:
        for uid, sku_id in session.execute(
            select(_uuid_text(session, LicenseAssignment.user_id), Subscription.sku_id)
            .join(Subscription, Subscription.id == LicenseAssignment.subscription_id)
            .where(LicenseAssignment.tenant_id.in_(license_tenants))
            .distinct()
        ):
            licenses[uid].append(sku_id)
    # Per customer once: its name, what the agent may read there.
    customers = {str(tid): (name, tid in may_roles, tid in may_licenses) for tid, name in chunk}
    none: list[str] = []
    stmt = (
        select(
            _uuid_text(session, User.tenant_id),
            user_text,
            User.user_principal_name,
            User.display_name,
            User.enabled,
            User.mfa_enabled,
            User.last_sign_in_at,
        )
        .join(Tenant, Tenant.id == User.tenant_id)
        .where(User.tenant_id.in_(ids))
        # The plan's order (customers by name, as the database sorts them), then each one's
        # users by UPN: sorted by the database a chunk at a time, streamed from a
        # server-side cursor.
        .order_by(Tenant.name, Tenant.id, User.user_principal_name)
        .execution_options(yield_per=YIELD_PER)
    )
    for tid, uid, upn, display_name, enabled, mfa, last_sign_in in session.execute(stmt):
        name, may_role, may_license = customers[tid]
        yield (
            tid,
            name,
            uid,
            upn,
            display_name,
            enabled,
            mfa,
            sorted(roles.get(uid, none)) if may_role else None,
            sorted(licenses.get(uid, none)) if may_license else None,
            last_sign_in,
        )


def _licenses(
    session: Session, plan: ReportPlan, chunk: Chunk, readable: Readable
) -> Iterator[Cells]:
    ids = _chunk_ids(chunk)
    names = dict(chunk)
    by_tenant: dict[uuid.UUID, list[Cells]] = defaultdict(list)
    for tid, sku_id, sku, status, trial_ends_at, used, total in session.execute(
        select(
            Subscription.tenant_id,
            Subscription.sku_id,
            Sku.name,
            Subscription.status,
            Subscription.trial_ends_at,
            Subscription.assigned,
            Subscription.seats,
        )
        .join(Sku, Sku.id == Subscription.sku_id)
        .where(Subscription.tenant_id.in_(ids))
        .order_by(Subscription.tenant_id, Sku.name, Subscription.created_at, Subscription.id)
    ):
        trial_over = (
            status == SubscriptionStatus.TRIAL
            and trial_ends_at is not None
            and trial_ends_at <= plan.now
        )
        effective = SubscriptionStatus.EXPIRED if trial_over else SubscriptionStatus(status)
        by_tenant[tid].append((tid, names[tid], sku_id, sku, effective, used, total))
    for tid in ids:
        yield from by_tenant.pop(tid, ())


def _admins(
    session: Session, plan: ReportPlan, chunk: Chunk, readable: Readable
) -> Iterator[Cells]:
    ids = _chunk_ids(chunk)
    names = dict(chunk)
    may_name = readable[Permission.USERS_READ]
    roles = user_roles_in(session, ids)
    if not roles:
        return
    by_tenant: dict[uuid.UUID, list[Cells]] = defaultdict(list)
    for tid, uid, upn, display_name in session.execute(
        select(User.tenant_id, User.id, User.user_principal_name, User.display_name)
        .where(User.id.in_(list(roles)), User.tenant_id.in_(ids))
        .order_by(User.tenant_id, User.user_principal_name)
    ):
        named = tid in may_name
        by_tenant[tid].append(
            (
                tid,
                names[tid],
                uid,
                upn if named else None,
                display_name if named else None,
                sorted(roles[uid]),
            )
        )
    for tid in ids:
        yield from by_tenant.pop(tid, ())


def _relationships(
    session: Session, plan: ReportPlan, chunk: Chunk, readable: Readable
) -> Iterator[Cells]:
    ids = _chunk_ids(chunk)
    names = dict(chunk)
    past_end = and_(Relationship.status.in_(LIVE_STATUSES), Relationship.ends_at <= plan.now)
    by_tenant: dict[uuid.UUID, list[Cells]] = defaultdict(list)
    for rid, tid, status, ended, roles, starts_at, ends_at, auto_extend in session.execute(
        select(
            Relationship.id,
            Relationship.customer_tenant_id,
            Relationship.status,
            case((past_end, True), else_=False),
            Relationship.roles,
            Relationship.activated_at,
            Relationship.ends_at,
            Relationship.auto_extend,
        )
        .where(
            Relationship.partner_tenant_id == plan.partner_id,
            Relationship.customer_tenant_id.in_(ids),
        )
        .order_by(Relationship.customer_tenant_id, Relationship.created_at, Relationship.id)
    ):
        # Live but past its end (before the sweep): not live, as the views say.
        shown = RelationshipStatus.EXPIRED if ended else RelationshipStatus(status)
        by_tenant[tid].append(
            (rid, tid, names[tid], shown, sorted(roles), starts_at, ends_at, auto_extend)
        )
    for tid in ids:
        yield from by_tenant.pop(tid, ())


READERS = {
    ReportKind.USERS: _users,
    ReportKind.LICENSES: _licenses,
    ReportKind.ADMINS: _admins,
    ReportKind.RELATIONSHIPS: _relationships,
}


# --- Encoding ---------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _safe(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_cell(value: Any) -> str:
    """One CSV cell: lists joined by spaces, booleans as true/false, None empty; text a
    spreadsheet would run as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if type(value) is str:
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return _safe(" ".join(str(v) for v in value))
    return _safe(str(value))


def _text(value: str | None) -> str:
    if value is None:
        return ""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _plain(value: Any) -> str:
    """Ids, numbers and our own enums: nothing a spreadsheet would run."""
    return "" if value is None else str(value)


def _flag(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def _words(value: list[str] | None) -> str:
    return "" if value is None else _text(" ".join(value))


def _moment(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


# How each column of each report is written in CSV (cheaper than asking every cell its type:
# a users report is five million cells).
CSV_CELLS: dict[ReportKind, tuple[Callable[[Any], str], ...]] = {
    ReportKind.USERS: (
        _plain,
        _text,
        _plain,
        _text,
        _text,
        _flag,
        _flag,
        _words,
        _words,
        _moment,
    ),
    ReportKind.LICENSES: (_plain, _text, _text, _text, _plain, _plain, _plain),
    ReportKind.RELATIONSHIPS: (
        _plain,
        _plain,
        _text,
        _plain,
        _words,
        _moment,
        _moment,
        _flag,
    ),
    ReportKind.ADMINS: (_plain, _text, _plain, _text, _text, _words),
}


def encode(
    fmt: ReportFormat,
    columns: Sequence[str],
    rows: Iterable[Cells],
    cells: Sequence[Callable[[Any], str]] | None = None,
) -> Iterator[bytes]:
    """The response body in pieces: the CSV header row at once (the first byte does not wait
    for the first query), the first row as soon as it is read, then ROWS_PER_PIECE rows a
    piece, each written to a buffer of its own (a reused one keeps the largest piece's
    size). CSV cells are written by ``cells`` (per column) or ``_csv_cell``; NDJSON: one
    object a line, with null where the agent may not read a cell (CSV leaves it empty)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if fmt == ReportFormat.CSV:
        writer.writerow(columns)
        yield buffer.getvalue().encode()
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
    for count, row in enumerate(rows, start=1):
        if fmt == ReportFormat.NDJSON:
            buffer.write(json.dumps(dict(zip(columns, map(_json_value, row), strict=True))))
            buffer.write("\n")
        elif cells is None:
            writer.writerow([_csv_cell(v) for v in row])
        else:
            writer.writerow([write(v) for write, v in zip(cells, row, strict=True)])
        if count % ROWS_PER_PIECE == 0 or count == 1:
            yield buffer.getvalue().encode()
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\r\n")
    if buffer.tell():
        yield buffer.getvalue().encode()


def stream(factory: sessionmaker[Session], plan: ReportPlan, fmt: ReportFormat) -> Iterator[bytes]:
    """The planned report, encoded, read as the client takes it."""
    return encode(fmt, plan.columns, report_rows(factory, plan), CSV_CELLS[plan.kind])
