"""The audit log: append-only events, hash-chained per tenant so edits and deletions show.

Each event stores the hash of the previous one in its tenant; the tenant row keeps the head
(sequence number and hash). Appending bumps the head with an UPDATE first, which takes the row
lock on PostgreSQL (and the write lock on SQLite), so concurrent writers queue instead of forking.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from tenantry.core.context import Context
from tenantry.core.pagination import Page, paginate
from tenantry.models import AuditEvent, Tenant
from tenantry.models.audit import AuditOutcome
from tenantry.models.tenancy import GENESIS_HASH


def _canonical(event: AuditEvent) -> bytes:
    def s(value: object) -> str | None:
        return None if value is None else str(value)

    payload = {
        "tenant_id": s(event.tenant_id),
        "seq": event.seq,
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "action": event.action,
        "outcome": event.outcome,
        "actor_user_id": s(event.actor_user_id),
        "actor_user_principal_name": event.actor_user_principal_name,
        "actor_tenant_id": s(event.actor_tenant_id),
        "partner_tenant_id": s(event.partner_tenant_id),
        "relationship_id": s(event.relationship_id),
        "target": event.target,
        "details": event.details,
        "request_id": event.request_id,
        "client_address": event.client_address,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def record(
    ctx: Context,
    tenant_id: uuid.UUID,
    action: str,
    target: str = "",
    *,
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
    details: dict[str, Any] | None = None,
    partner_tenant_id: uuid.UUID | None = None,
    relationship_id: uuid.UUID | None = None,
) -> AuditEvent:
    """Append one event to ``tenant_id``'s chain in the caller's transaction."""
    session = ctx.session
    if partner_tenant_id is None and tenant_id in ctx.on_behalf:
        partner_tenant_id, used = ctx.on_behalf[tenant_id]
        relationship_id = relationship_id or used
    seq, prev_hash = session.execute(
        update(Tenant)
        .where(Tenant.id == tenant_id)
        .values(audit_seq=Tenant.audit_seq + 1)
        .returning(Tenant.audit_seq, Tenant.audit_head_hash)
        .execution_options(synchronize_session=False)
    ).one()
    principal = ctx.principal
    event = AuditEvent(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        seq=seq,
        occurred_at=ctx.now,
        action=action,
        outcome=outcome,
        actor_user_id=principal.user_id if principal else None,
        actor_user_principal_name=principal.user_principal_name if principal else None,
        actor_tenant_id=principal.tenant_id if principal else None,
        partner_tenant_id=partner_tenant_id,
        relationship_id=relationship_id,
        target=target[:512],
        details=details or {},
        request_id=ctx.request_id,
        client_address=ctx.client_address,
        prev_hash=prev_hash,
    )
    event.hash = event_hash(event)
    session.add(event)
    session.execute(
        update(Tenant)
        .where(Tenant.id == tenant_id)
        .values(audit_head_hash=event.hash)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return event


def record_after_rollback(
    ctx: Context, tenant_id: uuid.UUID, action: str, target: str = "", **kwargs: Any
) -> None:
    """Queue an event that must be kept even though the request fails (denials, failures)."""

    def write(fresh: Context) -> None:
        record(fresh, tenant_id, action, target, **kwargs)

    ctx.after_rollback.append(write)


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor: str | None = None
    outcome: AuditOutcome | None = None
    since: datetime | None = None
    until: datetime | None = None
    by_partner: bool | None = None  # True: only partners' actions; False: only the tenant's own
    partner_tenant_id: uuid.UUID | None = None  # only this partner's actions


def list_events(
    session: Session, tenant_id: uuid.UUID, filters: AuditFilter, cursor: str | None, limit: int
) -> Page[AuditEvent]:
    stmt: Select[AuditEvent] = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
    if filters.action:
        stmt = stmt.where(AuditEvent.action.startswith(filters.action, autoescape=True))
    if filters.actor:
        stmt = stmt.where(
            AuditEvent.actor_user_principal_name.startswith(filters.actor.lower(), autoescape=True)
        )
    if filters.outcome:
        stmt = stmt.where(AuditEvent.outcome == filters.outcome)
    if filters.by_partner is not None:
        partner = AuditEvent.partner_tenant_id
        stmt = stmt.where(partner.is_not(None) if filters.by_partner else partner.is_(None))
    if filters.partner_tenant_id:
        stmt = stmt.where(AuditEvent.partner_tenant_id == filters.partner_tenant_id)
    if filters.since:
        stmt = stmt.where(AuditEvent.occurred_at >= filters.since)
    if filters.until:
        stmt = stmt.where(AuditEvent.occurred_at < filters.until)
    return paginate(session, stmt, [AuditEvent.seq], cursor, limit, descending=True)


@dataclass(frozen=True)
class ChainProblem:
    tenant_id: uuid.UUID
    seq: int | None
    problem: str


def verify(session: Session, tenant_id: uuid.UUID | None = None) -> Iterator[ChainProblem]:
    """Walk each tenant's chain; yield every break (edited, deleted or inserted events)."""
    tenants = select(Tenant.id, Tenant.audit_seq, Tenant.audit_head_hash).order_by(Tenant.id)
    if tenant_id is not None:
        tenants = tenants.where(Tenant.id == tenant_id)
    for tid, head_seq, head_hash in session.execute(tenants).all():
        expected_seq, prev = 1, GENESIS_HASH
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.tenant_id == tid).order_by(AuditEvent.seq)
        )
        for event in events.yield_per(1000):
            if event.seq != expected_seq:
                yield ChainProblem(tid, expected_seq, f"event {expected_seq} is missing")
            elif event.prev_hash != prev:
                yield ChainProblem(tid, event.seq, "does not link to the event before it")
            if event_hash(event) != event.hash:
                yield ChainProblem(tid, event.seq, "content does not match its hash")
            expected_seq, prev = event.seq + 1, event.hash
        if expected_seq - 1 != head_seq or prev != head_hash:
            yield ChainProblem(
                tid, head_seq, f"chain ends at {expected_seq - 1} but the head says {head_seq}"
            )
        session.expunge_all()
