"""The relationship lifecycle, run by itself: ``serve`` calls ``run_once`` periodically and
``tenantry jobs run-once`` does it by hand.

Each step is one conditional ``UPDATE ... RETURNING`` whose WHERE names the state it leaves,
so a row moves once however many processes sweep at the same time (on PostgreSQL the second
updater re-checks the WHERE after the first commits; SQLite serialises writers). Running it
again changes nothing. The sweep commits before delivery starts; delivery claims rows with
``SKIP LOCKED``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import Session, sessionmaker

from tenantry.access.roles import Role
from tenantry.audit import chain as audit
from tenantry.core.clock import utcnow
from tenantry.core.config import Settings
from tenantry.core.context import Context
from tenantry.core.db import transaction
from tenantry.identity import passkeys
from tenantry.models import Relationship
from tenantry.models.partners import LIVE_STATUSES, RelationshipStatus
from tenantry.operations import outbox, webhooks
from tenantry.partners import jobs, notifications, relationships

EXPIRING_WINDOW = timedelta(days=30)
AUTO_EXTEND = timedelta(days=180)
# Auto-extending relationships are extended when they end within this window (the sweeper
# runs every few minutes), so their agents never meet a lapse.
EXTEND_AHEAD = timedelta(days=1)


@dataclass(frozen=True)
class SweepReport:
    pending_expired: int
    extended: int
    expiring: int
    expired: int


def _transition(
    ctx: Context, condition: ColumnElement[bool], values: dict[str, object]
) -> list[Relationship]:
    ids = list(
        ctx.session.scalars(
            update(Relationship)
            .where(condition)
            .values(version=Relationship.version + 1, **values)
            .returning(Relationship.id)
            .execution_options(synchronize_session=False)
        )
    )
    if not ids:
        return []
    return list(
        ctx.session.scalars(
            select(Relationship)
            .where(Relationship.id.in_(ids))
            .execution_options(populate_existing=True)
        )
    )


def sweep_relationships(ctx: Context) -> SweepReport:
    now = ctx.now
    pending = _transition(
        ctx,
        and_(
            Relationship.status == RelationshipStatus.APPROVAL_PENDING,
            Relationship.pending_expires_at <= now,
        ),
        {"status": RelationshipStatus.EXPIRED},
    )
    for relationship in pending:
        audit.record(
            ctx,
            relationship.partner_tenant_id,
            "partner.relationship.expire",
            f"relationship:{relationship.id}",
            details={"was": RelationshipStatus.APPROVAL_PENDING.value},
            partner_tenant_id=relationship.partner_tenant_id,
            relationship_id=relationship.id,
        )
        webhooks.relationship_event(ctx, webhooks.EventType.RELATIONSHIP_EXPIRED, relationship)

    # Auto-extend a little BEFORE the end, so access never lapses between sweeps; a
    # relationship past its end is not live (access/paths.py) and is never resurrected here. Never
    # with Global Administrator: refused when set, and checked again here.
    extendable = and_(
        Relationship.status.in_(LIVE_STATUSES),
        Relationship.auto_extend,
        Relationship.ends_at > now,
        Relationship.ends_at <= now + EXTEND_AHEAD,
    )
    extended = []
    for relationship in ctx.session.scalars(select(Relationship).where(extendable)):
        if Role.GLOBAL_ADMINISTRATOR.value in relationship.roles:
            continue
        assert relationship.ends_at is not None
        extended += _transition(
            ctx,
            and_(Relationship.id == relationship.id, extendable),
            {
                "status": RelationshipStatus.ACTIVE,
                "ends_at": relationship.ends_at + AUTO_EXTEND,
                "expiring_notified_at": None,
            },
        )
    for relationship in extended:
        relationships.audit_both(ctx, relationship, "partner.relationship.extend")

    # Whatever has passed its end expires now, auto-extend or not: nothing is resurrected.
    expired = _transition(
        ctx,
        and_(Relationship.status.in_(LIVE_STATUSES), Relationship.ends_at <= now),
        {"status": RelationshipStatus.EXPIRED},
    )
    for relationship in expired:
        relationships.audit_both(ctx, relationship, "partner.relationship.expire")
        notifications.relationship_expired(ctx, relationship)
        webhooks.relationship_event(ctx, webhooks.EventType.RELATIONSHIP_EXPIRED, relationship)

    expiring = _transition(
        ctx,
        and_(
            Relationship.status == RelationshipStatus.ACTIVE,
            Relationship.ends_at > now,
            Relationship.ends_at <= now + EXPIRING_WINDOW,
            ~Relationship.auto_extend,
        ),
        {"status": RelationshipStatus.EXPIRING, "expiring_notified_at": now},
    )
    for relationship in expiring:
        relationships.audit_both(ctx, relationship, "partner.relationship.expiring")
        notifications.relationship_expiring(ctx, relationship)
        webhooks.relationship_event(ctx, webhooks.EventType.RELATIONSHIP_EXPIRING, relationship)
    return SweepReport(len(pending), len(extended), len(expiring), len(expired))


def _job_context(session: Session, settings: Settings, request_id: str, now: datetime) -> Context:
    return Context(session=session, settings=settings, request_id=request_id, now=now)


def run_once(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: datetime | None = None,
    request_id: str = "sweeper",
) -> tuple[SweepReport, int]:
    """Sweep relationships and commit (the moves, their audit and their mail together),
    forget expired passkey challenges and the temporary passwords of reset jobs nobody
    downloaded in time, then deliver e-mail in a transaction of its own: mail
    that fails never undoes a move, so the next run neither resends nor finds the same
    work. Then deliver webhooks, each delivery on its own."""
    moment = now or utcnow()
    with transaction(sessions) as session:
        report = sweep_relationships(_job_context(session, settings, request_id, moment))
    with transaction(sessions) as session:
        passkeys.forget_expired_challenges(_job_context(session, settings, request_id, moment))
    with transaction(sessions) as session:
        jobs.forget_unclaimed_passwords(_job_context(session, settings, request_id, moment))
    with transaction(sessions) as session:
        sent = outbox.deliver_pending(_job_context(session, settings, request_id, moment))
    # Webhooks: each delivery claimed, sent and recorded on its own (operations/webhooks.py).
    webhooks.deliver_pending(sessions, settings, moment, request_id=request_id)
    return report, sent
