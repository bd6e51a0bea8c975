"""Bulk jobs of a partner (issue 14, DESIGN §7 "Across customers"): one action over many
users or customers, chosen explicitly, by a search over the partner's customers or by an
uploaded CSV. Made here, run by partners/job_runner.py, one item at a time as its agent.

Who may do what: any member of the partner (an agent) makes jobs; every item is still
decided at run time as that agent, so a job never does more than its agent may. A job is
visible to its creator and to the partner's admins (partner.manage), who may also cancel it;
another partner's job, or a colleague's for a non-admin, is 404. Only the creator downloads
the temporary passwords of a reset, once.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, insert, select, update

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound, parse_choice
from tenantry.core.pagination import Page, paginate
from tenantry.core.scoped import get_scoped
from tenantry.models import (
    Domain,
    DomainStatus,
    Job,
    JobAction,
    JobItem,
    JobItemStatus,
    JobStatus,
    Sku,
    Tenant,
    User,
)
from tenantry.partners import enrolment as partners
from tenantry.partners import job_runner
from tenantry.partners.reports import FORMULA_STARTS
from tenantry.partners.selection import CustomerSelection, partner_customers, selected_customers
from tenantry.partners.user_search import UserFilters, matching_users

MAX_ITEMS = 50_000
CHUNK = 1000  # ids per IN list and rows per INSERT
MAX_CSV_BYTES = 5 * 1024 * 1024
# How far ahead a job may be scheduled: it acts with the power of the sign-in that made it,
# so a job set months ahead (by a stolen session, say) would be a time bomb long after.
MAX_SCHEDULE = timedelta(days=30)
# Temporary passwords nobody downloaded are wiped this long after their job ended.
PASSWORDS_KEPT = timedelta(days=7)
# Column names (one string: "customer" here is a column, not a relationship party).
RESULT_COLUMNS = "seq,customer_id,customer,user_id,user,status,message".split(",")  # noqa: SIM905


@dataclass(frozen=True)
class Target:
    tenant_id: uuid.UUID
    user_id: uuid.UUID | None = None


# --- parameters --------------------------------------------------------------------------

TEXT_LIMITS = {"sku_id": 64, "group": 256, "title": 200, "description": 20_000}
PARAMS: dict[JobAction, tuple[str, ...]] = {
    JobAction.ASSIGN_LICENSE: ("sku_id",),
    JobAction.UNASSIGN_LICENSE: ("sku_id",),
    JobAction.ADD_TO_GROUP: ("group",),
    JobAction.REMOVE_FROM_GROUP: ("group",),
    JobAction.RAISE_SERVICE_REQUEST: ("title", "description"),
}


def check_params(ctx: Context, action: JobAction, params: dict[str, Any]) -> dict[str, str]:
    """The action's parameters, each present, text, within its length; no others."""
    wanted = PARAMS.get(action, ())
    unknown = sorted(set(params) - set(wanted))
    if unknown:
        raise InvalidInput(
            f"{action.value} takes "
            + (", ".join(wanted) if wanted else "no parameters")
            + f"; not {', '.join(unknown)}.",
            slug="invalid-params",
        )
    checked: dict[str, str] = {}
    for name in wanted:
        value = params.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"{action.value} needs params.{name}.", slug="invalid-params")
        value = value.strip()
        if len(value) > TEXT_LIMITS[name]:
            raise InvalidInput(
                f"params.{name}: at most {TEXT_LIMITS[name]} characters.", slug="invalid-params"
            )
        if name != "description" and any(c in value for c in "\r\n"):
            raise InvalidInput(f"params.{name} must be on one line.", slug="invalid-params")
        checked[name] = value
    if "sku_id" in checked and ctx.session.get(Sku, checked["sku_id"]) is None:
        raise InvalidInput(f"There is no SKU {checked['sku_id']}.", slug="invalid-params")
    return checked


# --- making a job ------------------------------------------------------------------------


def _too_many(count: int) -> InvalidInput:
    return InvalidInput(
        f"A job has at most {MAX_ITEMS:,} items; this one would have {count:,}. Narrow the "
        "selection or split the list.",
        slug="too-many-items",
    )


def _new_job(
    ctx: Context, action: JobAction, params: dict[str, Any], not_before: datetime | None
) -> tuple[Job, dict[str, str]]:
    partner = partners.require_partner(ctx, None)
    user_id = ctx.require_user()  # items run as a person: an API client's token is refused
    checked = check_params(ctx, action, params)
    if not_before is not None and not_before.tzinfo is None:
        raise InvalidInput("not_before needs a time zone (e.g. 2026-12-24T08:00:00Z).")
    if not_before is not None and not_before > ctx.now + MAX_SCHEDULE:
        raise InvalidInput(
            f"A job is scheduled at most {MAX_SCHEDULE.days} days ahead.", slug="too-far-ahead"
        )
    scheduled = not_before is not None and not_before > ctx.now
    principal = ctx.require_principal()
    agent = ctx.session.get(User, user_id)
    if agent is None:
        raise NotFound("User not found.")
    job = Job(
        id=uuid.uuid4(),
        partner_tenant_id=partner.id,
        created_by_user_id=user_id,
        created_by_upn=principal.name,
        second_factor=principal.second_factor,
        credentials=job_runner.credentials_digest(ctx.session, ctx.settings, agent),
        action=action,
        params=checked,
        status=JobStatus.SCHEDULED if scheduled else JobStatus.QUEUED,
        not_before=not_before,
        created_at=ctx.now,
    )
    return job, checked


def _readable_upns(ctx: Context, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The names of the users the agent may read (what it may not read stays unnamed)."""
    principal = ctx.require_principal()
    names: dict[uuid.UUID, str] = {}
    for start in range(0, len(user_ids), CHUNK):
        chunk = user_ids[start : start + CHUNK]
        rows = ctx.session.execute(
            select(User.id, User.user_principal_name).where(
                User.id.in_(chunk),
                access.restrict_to(principal, Permission.USERS_READ, User.tenant_id, ctx.now),
            )
        )
        names.update({uid: upn for uid, upn in rows})
    return names


def _save(
    ctx: Context, job: Job, rows: list[tuple[uuid.UUID, uuid.UUID | None, str | None]]
) -> Job:
    if not rows:
        raise InvalidInput("The job has no items: choose at least one target.", slug="no-items")
    if len(rows) > MAX_ITEMS:
        raise _too_many(len(rows))
    job.total = len(rows)
    ctx.session.add(job)
    ctx.session.flush()
    values = [
        {
            "id": uuid.uuid4(),
            "job_id": job.id,
            "seq": seq,
            "tenant_id": tid,
            "user_id": uid,
            "upn": upn,
            "status": JobItemStatus.PENDING,
            "message": "",
        }
        for seq, (tid, uid, upn) in enumerate(rows, start=1)
    ]
    for start in range(0, len(values), CHUNK):
        ctx.session.execute(insert(JobItem), values[start : start + CHUNK])
    audit.record(
        ctx,
        job.partner_tenant_id,
        "job.create",
        f"job:{job.id}",
        details={"action": job.action.value, "items": job.total},
    )
    return job


def _explicit(
    ctx: Context, action: JobAction, targets: Sequence[Target]
) -> list[tuple[uuid.UUID, uuid.UUID | None, str | None]]:
    if len(targets) > MAX_ITEMS:
        raise _too_many(len(targets))
    seen: set[tuple[uuid.UUID, uuid.UUID | None]] = set()
    unique: list[Target] = []
    for number, target in enumerate(targets, start=1):
        if action.over_users and target.user_id is None:
            raise InvalidInput(f"targets[{number}]: {action.value} needs a user_id.")
        if not action.over_users and target.user_id is not None:
            raise InvalidInput(f"targets[{number}]: {action.value} acts on customers, no user_id.")
        if (target.tenant_id, target.user_id) not in seen:
            seen.add((target.tenant_id, target.user_id))
            unique.append(target)
    names = _readable_upns(ctx, [t.user_id for t in unique if t.user_id is not None])
    return [(t.tenant_id, t.user_id, names.get(t.user_id) if t.user_id else None) for t in unique]


def create_job(
    ctx: Context,
    action: JobAction,
    params: dict[str, Any],
    *,
    targets: Sequence[Target] | None = None,
    customers: CustomerSelection | None = None,
    users: UserFilters | None = None,
    not_before: datetime | None = None,
) -> Job:
    """A job over explicit ``targets``, or over a selection resolved now into items: the
    users matching ``users`` in the ``customers`` chosen (a user action), or the customers
    chosen (a customer action). Its items run later, each decided as the agent."""
    job, _ = _new_job(ctx, action, params, not_before)
    if targets is not None:
        if customers is not None or users is not None:
            raise InvalidInput("Give targets or a selection, not both.")
        return _save(ctx, job, _explicit(ctx, action, targets))
    rows: list[tuple[uuid.UUID, uuid.UUID | None, str | None]]
    if action.over_users:
        found = matching_users(ctx, job.partner_tenant_id, customers, users or UserFilters())
        inner = found.subquery()
        stmt: Select[Any] = (
            select(inner.c[0], inner.c[1], User.user_principal_name)
            .join(User, User.id == inner.c[1])
            .order_by(inner.c[0], User.user_principal_name)
            .limit(MAX_ITEMS + 1)
        )
        rows = [(tid, uid, upn) for tid, uid, upn in ctx.session.execute(stmt)]
    else:
        if users is not None:
            raise InvalidInput(f"{action.value} acts on customers: select customers, not users.")
        chosen = selected_customers(ctx, job.partner_tenant_id, customers).subquery()
        ids = select(Tenant.id).where(Tenant.id.in_(select(chosen.c[0]))).order_by(Tenant.name)
        rows = [(tid, None, None) for tid in ctx.session.scalars(ids.limit(MAX_ITEMS + 1))]
    return _save(ctx, job, rows)


def create_from_csv(
    ctx: Context,
    action: str,
    params: Callable[[], dict[str, Any]],
    data: Callable[[], bytes],
    *,
    not_before: datetime | None = None,
) -> Job:
    """A user action over the users a CSV names (a ``user_principal_name`` column): each
    found in the customer whose verified domain the name ends with, among the partner's
    customers, where the agent may read users. Rows that name nobody are a 422 listing their
    line numbers, so nothing is half-made. (``params`` and ``data`` are read once the caller
    is known to be a partner's: a refusal comes before any complaint about the form.)"""
    partners.require_partner(ctx, None)
    chosen = parse_choice(JobAction, action, "Action")
    if not chosen.over_users:
        raise InvalidInput(f"{chosen.value} acts on customers; a CSV lists users.")
    job, _ = _new_job(ctx, chosen, params(), not_before)
    return _from_csv(ctx, job, data())


def _from_csv(ctx: Context, job: Job, data: bytes) -> Job:
    if len(data) > MAX_CSV_BYTES:
        raise InvalidInput(f"The file is larger than {MAX_CSV_BYTES // 1024 // 1024} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("The file is not UTF-8 text.") from exc
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "user_principal_name" not in fields:
        raise InvalidInput("The CSV needs a column named user_principal_name.", slug="invalid-csv")
    column = (reader.fieldnames or [])[fields.index("user_principal_name")]
    wanted: list[tuple[int, str]] = []
    for row in reader:
        upn = (row.get(column) or "").strip().lower()
        if upn:
            wanted.append((reader.line_num, upn))
        if len(wanted) > MAX_ITEMS:
            raise _too_many(len(wanted))
    found = _users_by_upn(ctx, job.partner_tenant_id, sorted({upn for _, upn in wanted}))
    bad = [line for line, upn in wanted if upn not in found]
    if bad:
        shown = ", ".join(str(n) for n in bad[:20]) + (" ..." if len(bad) > 20 else "")
        raise InvalidInput(
            f"{len(bad)} row(s) name no user of your customers that you may read "
            f"(lines {shown}); correct them or leave them out.",
            slug="invalid-csv",
        )
    rows: list[tuple[uuid.UUID, uuid.UUID | None, str | None]] = []
    seen: set[str] = set()
    for _, upn in wanted:
        if upn not in seen:
            seen.add(upn)
            tid, uid = found[upn]
            rows.append((tid, uid, upn))
    return _save(ctx, job, rows)


def _users_by_upn(
    ctx: Context, partner_id: uuid.UUID, upns: list[str]
) -> dict[str, tuple[uuid.UUID, uuid.UUID]]:
    """UPN -> (tenant, user): the tenant is the customer holding the name's domain verified."""
    principal = ctx.require_principal()
    found: dict[str, tuple[uuid.UUID, uuid.UUID]] = {}
    for start in range(0, len(upns), CHUNK):
        chunk = upns[start : start + CHUNK]
        domains = {upn.rpartition("@")[2] for upn in chunk}
        owner = (
            select(Domain.tenant_id)
            .where(
                Domain.tenant_id == User.tenant_id,
                Domain.name.in_(domains),
                Domain.status == DomainStatus.VERIFIED,
                Domain.tenant_id.in_(partner_customers(partner_id)),
            )
            .exists()
        )
        rows = ctx.session.execute(
            select(User.user_principal_name, User.tenant_id, User.id).where(
                User.user_principal_name.in_(chunk),
                owner,
                access.restrict_to(principal, Permission.USERS_READ, User.tenant_id, ctx.now),
            )
        )
        found.update({upn: (tid, uid) for upn, tid, uid in rows})
    return found


# --- reading, cancelling -----------------------------------------------------------------


def _is_admin(ctx: Context, partner_id: uuid.UUID) -> bool:
    return access.decide(ctx, partner_id).allows(Permission.PARTNER_MANAGE)


def get_job(ctx: Context, job_id: uuid.UUID, *, lock: bool = False) -> Job:
    """One of the partner's jobs, for its creator and the partner's admins (404 otherwise)."""
    partner = partners.require_partner(ctx, None)
    job = get_scoped(
        ctx.session, Job, job_id, partner.id, "Job", owner="partner_tenant_id", lock=lock
    )
    mine = job.created_by_user_id == ctx.require_principal().user_id
    if not mine and not _is_admin(ctx, partner.id):
        raise NotFound("Job not found.")
    return job


def list_jobs(ctx: Context, *, cursor: str | None, limit: int) -> Page[Job]:
    """Newest first: an admin's view holds every job of the partner, anyone else's its own."""
    partner = partners.require_partner(ctx, None)
    stmt: Select[Any] = select(Job).where(Job.partner_tenant_id == partner.id)
    if not _is_admin(ctx, partner.id):
        stmt = stmt.where(Job.created_by_user_id == ctx.require_principal().user_id)
    return paginate(ctx.session, stmt, [Job.created_at, Job.id], cursor, limit, descending=True)


def list_items(
    ctx: Context,
    job_id: uuid.UUID,
    *,
    status: JobItemStatus | None = None,
    cursor: str | None,
    limit: int,
) -> Page[JobItem]:
    job = get_job(ctx, job_id)
    stmt: Select[Any] = select(JobItem).where(JobItem.job_id == job.id)
    if status is not None:
        stmt = stmt.where(JobItem.status == status)
    return paginate(ctx.session, stmt, [JobItem.seq], cursor, limit)


def customer_names(ctx: Context, job: Job, tenant_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Names of the job's customers (a partner knows its customers' names, consented or
    not); an id that is not a customer of the partner stays unnamed."""
    if not tenant_ids:
        return {}
    rows = ctx.session.execute(
        select(Tenant.id, Tenant.name).where(
            Tenant.id.in_(tenant_ids), Tenant.id.in_(partner_customers(job.partner_tenant_id))
        )
    )
    return {tid: name for tid, name in rows}


def results_csv(ctx: Context, job_id: uuid.UUID) -> Iterator[str]:
    """Every item's outcome as CSV lines (read in pages, so a big job streams)."""
    job = get_job(ctx, job_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(RESULT_COLUMNS)
    after = 0
    while True:
        items = list(
            ctx.session.scalars(
                select(JobItem)
                .where(JobItem.job_id == job.id, JobItem.seq > after)
                .order_by(JobItem.seq)
                .limit(CHUNK)
            )
        )
        names = customer_names(ctx, job, {i.tenant_id for i in items})
        for i in items:
            writer.writerow(
                [
                    i.seq,
                    i.tenant_id,
                    _cell(names.get(i.tenant_id, "")),
                    i.user_id or "",
                    _cell(i.upn or ""),
                    i.status.value,
                    _cell(i.message),
                ]
            )
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        if len(items) < CHUNK:
            return
        after = items[-1].seq


def _cell(text: str) -> str:
    """No spreadsheet formulas out of a cell (CSV injection): a customer names itself and
    its users, and a message may quote them; as the reports' cells."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cancel_job(ctx: Context, job_id: uuid.UUID) -> Job:
    """Its creator or a partner admin stops a job: every item still pending is cancelled;
    items done keep their outcome. The job's row lock (taken as a runner's is) waits for a
    batch in flight, so an item is either done or cancelled, never both."""
    job = get_job(ctx, job_id, lock=True)
    if job.status.ended:
        raise Conflict(f"This job is already {job.status.value}.", slug="job-ended")
    cancelled = job_runner.cancel_pending(ctx.session, job.id, ctx.now)
    ctx.session.execute(
        update(Job)
        .where(Job.id == job.id)
        .values(
            status=JobStatus.CANCELLED,
            cancelled=Job.cancelled + cancelled,
            finished_at=ctx.now,
        )
        .execution_options(synchronize_session=False)
    )
    ctx.session.refresh(job)
    audit.record(
        ctx, job.partner_tenant_id, "job.cancel", f"job:{job.id}", details={"items": cancelled}
    )
    return job


@dataclass(frozen=True)
class TemporaryPassword:
    tenant_id: uuid.UUID
    user_id: uuid.UUID | None
    upn: str | None
    password: str


def take_passwords(ctx: Context, job_id: uuid.UUID) -> list[TemporaryPassword]:
    """The temporary passwords of a finished reset job, for its creator, once: taken, they
    are wiped from the database (a conditional UPDATE: two downloads at once get one). Only
    those of customers where the creator may reset passwords now are handed over."""
    job = get_job(ctx, job_id, lock=True)
    if job.action != JobAction.RESET_PASSWORD:
        raise NotFound("This job sets no passwords.")
    if job.created_by_user_id != ctx.require_principal().user_id:
        raise Forbidden(
            f"Only {job.created_by_upn}, who made this job, may download its passwords.",
            slug="not-job-creator",
        )
    if not job.status.ended:
        raise Conflict(
            "The job is still running: download the passwords when it has ended.",
            slug="job-running",
        )
    took = ctx.session.execute(
        update(Job)
        .where(Job.id == job.id, Job.passwords_taken_at.is_(None))
        .values(passwords_taken_at=ctx.now)
        .execution_options(synchronize_session=False)
    )
    if took.rowcount != 1:  # type: ignore[attr-defined]
        raise Gone(
            "The temporary passwords were downloaded already, or not within"
            f" {PASSWORDS_KEPT.days} days of the job's end; they are kept only once."
        )
    # Only where the agent may still reset passwords now: a customer that removed the
    # partner since (or an agent taken out of its groups) hands over no credentials.
    principal = ctx.require_principal()
    may = access.restrict_to(principal, Permission.USERS_RESET_PASSWORD, JobItem.tenant_id, ctx.now)
    rows = list(
        ctx.session.execute(
            select(JobItem.tenant_id, JobItem.user_id, JobItem.upn, JobItem.secret)
            .where(JobItem.job_id == job.id, JobItem.secret.is_not(None), may)
            .order_by(JobItem.seq)
        )
    )
    wiped = ctx.session.execute(
        update(JobItem)
        .where(JobItem.job_id == job.id, JobItem.secret.is_not(None))
        .values(secret=None)
        .execution_options(synchronize_session=False)
    )
    withheld = int(wiped.rowcount) - len(rows)  # type: ignore[attr-defined]
    audit.record(
        ctx,
        job.partner_tenant_id,
        "job.passwords_taken",
        f"job:{job.id}",
        details={"count": len(rows), "withheld": withheld},
    )
    return [
        TemporaryPassword(tid, uid, upn, job_runner.unseal(ctx.settings, secret or ""))
        for tid, uid, upn, secret in rows
    ]


def forget_unclaimed_passwords(ctx: Context) -> int:
    """Wipe the temporary passwords of reset jobs that ended more than PASSWORDS_KEPT ago
    and were never downloaded (the lifecycle sweeper): an encrypted credential nobody came
    for is a credential to lose, not to keep. Audited in the partner. Returns how many jobs."""
    stale = list(
        ctx.session.execute(
            select(Job.id, Job.partner_tenant_id).where(
                Job.action == JobAction.RESET_PASSWORD,
                Job.passwords_taken_at.is_(None),
                Job.finished_at < ctx.now - PASSWORDS_KEPT,
            )
        )
    )
    for job_id, partner_id in stale:
        taken = ctx.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.passwords_taken_at.is_(None))
            .values(passwords_taken_at=ctx.now)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            continue  # downloaded meanwhile
        wiped = ctx.session.execute(
            update(JobItem)
            .where(JobItem.job_id == job_id, JobItem.secret.is_not(None))
            .values(secret=None)
            .execution_options(synchronize_session=False)
        )
        audit.record(
            ctx,
            partner_id,
            "job.passwords_forgotten",
            f"job:{job_id}",
            details={"count": int(wiped.rowcount), "kept_days": PASSWORDS_KEPT.days},  # type: ignore[attr-defined]
        )
    return len(stale)


def passwords_csv(passwords: list[TemporaryPassword]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["user_principal_name", "tenant_id", "user_id", "temporary_password"])
    for p in passwords:
        writer.writerow([_cell(p.upn or ""), p.tenant_id, p.user_id or "", p.password])
    return out.getvalue()
