"""The bulk jobs benchmark (issue 14): a job of 5,000 items over 1,000 customers (require a
password change) against the same service calls made in a plain loop, one transaction per
call as a script calling the API would. Target: the job at >= 50 % of the loop's rate."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from typing import Any

from rich.table import Table
from sqlalchemy import select

from tenantry.core.clock import utcnow
from tenantry.core.context import Context, Principal, SecondFactor
from tenantry.core.db import transaction
from tenantry.directory import users
from tenantry.models import JobAction, User
from tenantry.partners import job_runner, jobs

CUSTOMERS = 1000
PER_CUSTOMER = 5


def _agent(seeded: Any) -> Principal:
    return Principal(
        user_id=seeded.agent_id,
        tenant_id=seeded.partner_id,
        user_principal_name="agent@fabrikam.tenantry.test",
        display_name="Agent",
        mfa=True,
        must_change_password=False,
        second_factor=SecondFactor.TOTP,
    )


def _targets(app: Any, seeded: Any) -> tuple[list[jobs.Target], list[jobs.Target]]:
    """Two disjoint sets of PER_CUSTOMER users in each of the first CUSTOMERS customers (not
    their admins): one for the loop, one for the job."""
    chosen = {c[0] for c in seeded.customers[:CUSTOMERS]}
    admins = {c[2] for c in seeded.customers[:CUSTOMERS]}
    per_tenant: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    with app.state.sessions() as session:
        rows = session.execute(
            select(User.tenant_id, User.id)
            .where(User.tenant_id.in_(chosen))
            .order_by(User.tenant_id, User.user_principal_name)
        )
        for tid, uid in rows:
            if uid not in admins:
                per_tenant[tid].append(uid)
    loop, job = [], []
    for tid, uids in per_tenant.items():
        loop += [jobs.Target(tid, u) for u in uids[:PER_CUSTOMER]]
        job += [jobs.Target(tid, u) for u in uids[PER_CUSTOMER : 2 * PER_CUSTOMER]]
    return loop, job


def run(app: Any, seeded: Any, table: Table, label: str) -> None:
    sessions, settings = app.state.sessions, app.state.settings
    agent = _agent(seeded)
    loop_targets, job_targets = _targets(app, seeded)

    started = time.perf_counter()
    for target in loop_targets:
        with transaction(sessions) as session:
            ctx = Context(session=session, settings=settings, principal=agent, now=utcnow())
            assert target.user_id is not None
            users.require_password_change(ctx, target.tenant_id, target.user_id)
    loop_rate = len(loop_targets) / (time.perf_counter() - started)

    with transaction(sessions) as session:
        ctx = Context(session=session, settings=settings, principal=agent, now=utcnow())
        job = jobs.create_job(ctx, JobAction.REQUIRE_PASSWORD_CHANGE, {}, targets=job_targets)
        job_id = job.id
    started = time.perf_counter()
    job_runner.run_pending(sessions, settings)
    job_rate = len(job_targets) / (time.perf_counter() - started)
    with sessions() as session:
        done = session.get(type(job), job_id)
        assert done is not None and done.done == len(job_targets), "the job did not finish"
        assert done.failed == done.refused == 0, "items failed or were refused"

    customers = len({t.tenant_id for t in job_targets})
    what = f"{len(job_targets):,} items over {customers:,} customers"
    table.add_row(label, f"job: {what} (require password change)", "", "", f"{job_rate:,.0f}/s")
    table.add_row(label, "  the same calls in a plain loop", "", "", f"{loop_rate:,.0f}/s")
    ratio = f"{job_rate / loop_rate:.0%}"
    table.add_row(label, "  job rate / loop rate (target >= 50 %)", "", "", ratio)
