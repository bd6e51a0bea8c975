"""Running bulk jobs: exactly once per item, resumable after a crash, safe with any number of
``tenantry serve`` processes (docs: README "Jobs").

One batch is one transaction: the runner locks a runnable job's row (PostgreSQL ``FOR UPDATE
SKIP LOCKED``, so another process takes another job; SQLite's write lock serialises them all),
takes up to ``job_batch_size`` of its pending items, does each in a SAVEPOINT (a failure
undoes only that item), marks each item with its outcome, moves the job's counters and
commits. An item's effect and its mark commit together: a crash rolls the whole open batch
back, so nothing is done twice and the next runner, in any process, does the batch again.

Items run as the agent who made the job, rebuilt from its user row at every batch (a
disabled or removed agent gets the items refused) with the second factor of the sign-in that
made the job, as long as the agent's password and second factors are those it had then (a
reset ends its sessions, and the job's power with them; a plain sign-out does not), through
the same service functions and access decision as the API; each audit event in a customer
carries the request id ``job:<id>``.
"""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from datetime import datetime

from joserfc import jwe
from joserfc.jwk import OctKey
from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from tenantry import access
from tenantry.core.clock import utcnow
from tenantry.core.config import Settings
from tenantry.core.context import Context, Principal, SecondFactor
from tenantry.core.db import read_only, transaction
from tenantry.core.errors import Forbidden, NotFound, ServiceError
from tenantry.models import Job, JobItem, JobItemStatus, JobStatus, Passkey, User
from tenantry.partners.job_actions import ACTIONS, Outcome

log = logging.getLogger("tenantry.jobs")
RUNNABLE = (JobStatus.SCHEDULED, JobStatus.QUEUED, JobStatus.RUNNING)
_SECRET_LABEL = b"tenantry job passwords v1"
_CREDENTIALS_LABEL = b"tenantry job credentials v1"


# --- temporary passwords at rest ---------------------------------------------------------


def _secret_key(settings: Settings) -> OctKey:
    """A key derived from the secret key (as the OIDC signing keys' is): a copy of the
    database alone does not give the temporary passwords away."""
    raw = hmac.new(settings.effective_secret_key.encode(), _SECRET_LABEL, "sha256").digest()
    return OctKey.import_key(raw)


def seal(settings: Settings, text: str) -> str:
    header = {"alg": "dir", "enc": "A256GCM"}
    return jwe.encrypt_compact(header, text, _secret_key(settings))


def unseal(settings: Settings, sealed: str) -> str:
    plain = jwe.decrypt_compact(sealed, _secret_key(settings)).plaintext
    assert plain is not None
    return plain.decode()


# --- the agent the items run as ----------------------------------------------------------


def credentials_digest(session: Session, settings: Settings, user: User) -> str:
    """A keyed digest of what the agent proves itself with: its password hash, its TOTP
    secret, whether it has a second factor, and its first passkey. Any reset (password, or
    factors removed and enrolled again) changes it; adding a passkey does not."""
    first_passkey = session.scalar(
        select(Passkey.id)
        .where(Passkey.user_id == user.id)
        .order_by(Passkey.created_at, Passkey.id)
        .limit(1)
    )
    material = "\x1f".join(
        [
            user.password_hash or "",
            user.totp_secret or "",
            str(user.mfa_enabled),
            str(first_passkey or ""),
        ]
    )
    key = hmac.new(settings.effective_secret_key.encode(), _CREDENTIALS_LABEL, "sha256").digest()
    return hmac.new(key, material.encode(), "sha256").hexdigest()


def agent_principal(session: Session, settings: Settings, job: Job) -> Principal | str:
    """The job's creator as a principal, or why its items can't run as it."""
    user = session.get(User, job.created_by_user_id)
    if user is None or user.tenant_id != job.partner_tenant_id:
        return f"Refused: {job.created_by_upn}, who made this job, no longer exists."
    if not user.enabled:
        return f"Refused: {user.user_principal_name}, who made this job, is disabled."
    if user.must_change_password:
        return (
            f"Refused: {user.user_principal_name}, who made this job, has a temporary "
            "password to change first."
        )
    if not hmac.compare_digest(job.credentials, credentials_digest(session, settings, user)):
        return (
            f"Refused: the password or second factors of {user.user_principal_name}, who "
            "made this job, were reset after it was made; make the job again."
        )
    return Principal(
        user_id=user.id,
        tenant_id=user.tenant_id,
        user_principal_name=user.user_principal_name,
        display_name=user.display_name,
        mfa=job.second_factor != SecondFactor.NONE,
        must_change_password=False,
        second_factor=job.second_factor,
    )


# --- one batch ---------------------------------------------------------------------------


def _due(now: datetime) -> ColumnElement[bool]:
    """A job with items to run now: runnable, and not scheduled for later."""
    return and_(Job.status.in_(RUNNABLE), or_(Job.not_before.is_(None), Job.not_before <= now))


def _claim_job(session: Session, now: datetime) -> Job | None:
    stmt = (
        select(Job)
        .where(_due(now))
        .order_by(Job.created_at, Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return session.scalars(stmt).first()


def _run_item(ctx: Context, job: Job, item: JobItem) -> tuple[JobItemStatus, str, str | None]:
    ctx.after_rollback.clear()
    try:
        with ctx.session.begin_nested():
            outcome: Outcome = ACTIONS[job.action](ctx, item.tenant_id, item.user_id, job.params)
        status, message, secret = JobItemStatus.SUCCEEDED, outcome.message, outcome.secret
    except Forbidden as exc:
        status, message, secret = JobItemStatus.REFUSED, exc.detail, None
    except NotFound as exc:
        # Unreachable organisation: a refusal (404 to the agent); a missing user, group or
        # licence in a reachable one: the action failed.
        reachable = access.decide(ctx, item.tenant_id).reachable
        status = JobItemStatus.FAILED if reachable else JobItemStatus.REFUSED
        message, secret = exc.detail, None
    except ServiceError as exc:
        status, message, secret = JobItemStatus.FAILED, exc.detail, None
    except Exception:  # a bug or a database error: this item only (its savepoint rolled back)
        log.exception("job %s item %s failed", job.id, item.seq)
        status, message, secret = JobItemStatus.FAILED, "An internal error stopped this item.", None
    # The denials the services queued for after a rollback: only the savepoint rolled back,
    # so they are written in this batch's transaction.
    for work in list(ctx.after_rollback):
        work(ctx)
    ctx.after_rollback.clear()
    return status, message[:1000], secret


def run_batch(
    sessions: sessionmaker[Session], settings: Settings, now: datetime | None = None
) -> bool:
    """Do one batch of one runnable job; False when no job had anything to do."""
    now = now or utcnow()
    # Look before locking: an idle runner (every poll of every `serve`) would otherwise take
    # SQLite's write lock each time just to find nothing.
    with read_only(sessions) as session:
        if session.scalar(select(Job.id).where(_due(now)).limit(1)) is None:
            return False
    with transaction(sessions) as session:
        job = _claim_job(session, now)
        if job is None:
            return False
        if job.status != JobStatus.RUNNING:
            job.status = JobStatus.RUNNING
            job.started_at = job.started_at or now
        items = list(
            session.scalars(
                select(JobItem)
                .where(JobItem.job_id == job.id, JobItem.status == JobItemStatus.PENDING)
                .order_by(JobItem.seq)
                .limit(settings.job_batch_size)
                .with_for_update()
            )
        )
        principal = agent_principal(session, settings, job)
        ctx = Context(
            session=session,
            settings=settings,
            principal=principal if isinstance(principal, Principal) else None,
            request_id=f"job:{job.id}",
            now=now,
        )
        counts = {status: 0 for status in JobItemStatus}
        for item in items:
            if isinstance(principal, str):
                status, message, secret = JobItemStatus.REFUSED, principal, None
            else:
                status, message, secret = _run_item(ctx, job, item)
            item.status, item.message, item.finished_at = status, message, now
            item.secret = seal(settings, secret) if secret is not None else None
            counts[status] += 1
        job.done += len(items)
        job.failed += counts[JobItemStatus.FAILED]
        job.refused += counts[JobItemStatus.REFUSED]
        session.flush()
        left = session.scalar(
            select(func.count())
            .select_from(JobItem)
            .where(JobItem.job_id == job.id, JobItem.status == JobItemStatus.PENDING)
        )
        if not left:
            job.status = JobStatus.COMPLETED
            job.finished_at = now
        return True


def run_pending(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: datetime | None = None,
    *,
    max_batches: int | None = None,
) -> int:
    """Batches until no job has anything left to do now (or ``max_batches``); how many. Between
    batches it pauses (``job_batch_pause_seconds``): SQLite's write lock is not handed out
    fairly, and a runner taking it back at once would starve the requests waiting for it."""
    batches = 0
    while max_batches is None or batches < max_batches:
        if not run_batch(sessions, settings, now):
            break
        batches += 1
        time.sleep(settings.job_batch_pause_seconds)
    return batches


def cancel_pending(session: Session, job_id: uuid.UUID, now: datetime) -> int:
    """Every item still pending is cancelled (a conditional UPDATE: an item a runner has
    done keeps its outcome). The caller holds the job's row lock, as runners do."""
    result = session.execute(
        update(JobItem)
        .where(JobItem.job_id == job_id, JobItem.status == JobItemStatus.PENDING)
        .values(status=JobItemStatus.CANCELLED, finished_at=now, message="Cancelled.")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
